"""The registry of cited documents (sim/inputs/sources.toml): every document a parameter file or a
scenario file cites is in it, every entry in it is cited or kept for context, a bad entry is
refused with the file and the key, and `tuopin params` shows the titles."""

from __future__ import annotations

import csv
import io
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import ROOT
from sim.app.cli import app
from sim.inputs.errors import InputError
from sim.inputs.params import ParameterSet
from sim.inputs.sources import (SOURCES_FILE, cited, load_sources, registry, requires_citation,
                                titles, unknown_citations)

PARAMETER_FILES = sorted((ROOT / "sim" / "inputs" / "parameters").rglob("*.toml"))
SCENARIO_FILES = sorted((ROOT / "scenarios").glob("*.toml"))
SEEDS = ROOT.parent / "shared" / "seeds"


# --- reading the citations in the repository's files ---------------------------------------------

def _comment(line: str) -> str | None:
    """The comment on a TOML line (text after a '#' outside quotes), or None."""
    quote = None
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#":
            return line[i + 1:].strip()
        i += 1
    return None


def comment_blocks(path: Path) -> list[str]:
    """A file's comments: each run of whole-line comments joined into one text, and each comment
    after a value on its own."""
    blocks, run = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        text = _comment(line)
        if text is not None and line.lstrip().startswith("#"):
            run.append(text)
            continue
        if run:
            blocks.append(" ".join(run))
            run = []
        if text:
            blocks.append(text)
    if run:
        blocks.append(" ".join(run))
    return blocks


def citing_texts(parameter_files, scenario_files):
    """(where, text, context) for every text that may cite a document: each parameter's source
    and reason (each the other's context), and the comments of parameter and scenario files (the
    file's other comments their context)."""
    for path in parameter_files:
        rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
        for key, table in tomllib.loads(path.read_text(encoding="utf-8")).items():
            if not isinstance(table, dict):
                continue
            source, reason = table.get("source", ""), table.get("reason") or ""
            yield f"{rel} [{key}] source", source, reason
            if reason:
                yield f"{rel} [{key}] reason", reason, source
    for path in list(parameter_files) + list(scenario_files):
        blocks = comment_blocks(path)
        whole = " ".join(blocks)
        for text in blocks:
            yield f"{path.name} comment", text, whole


def citation_problems(parameter_files, scenario_files, sources=None) -> list[str]:
    """Every citation that names a document the registry lacks, and every parameter source that
    is neither an assumption nor a citation of a registered document."""
    sources = registry() if sources is None else sources
    problems = []
    for where, text, context in citing_texts(parameter_files, scenario_files):
        problems += [f"{where}: {u!r}" for u in unknown_citations(text, sources, context)]
        if where.endswith(" source") and requires_citation(text) and not cited(text, sources):
            problems.append(f"{where}: {text!r} cites no document in {SOURCES_FILE.name}")
    return problems


def cited_everywhere(parameter_files, scenario_files) -> set[str]:
    return {doc for _, text, _ in citing_texts(parameter_files, scenario_files) for doc in cited(text)}


# --- the repository's citations against the registry ---------------------------------------------

def test_every_cited_document_is_in_the_registry():
    problems = citation_problems(PARAMETER_FILES, SCENARIO_FILES)
    assert not problems, "citations of documents not in sim/inputs/sources.toml:\n" + "\n".join(problems)


def test_every_parameter_source_names_its_documents():
    for p in ParameterSet.defaults():
        if requires_citation(p.source):
            assert cited(p.source), p.name


@pytest.mark.parametrize("source, reported", [
    ("2019 Guizhou statistical yearbook, table 3", "yearbook"),
    ("004_0123456789abcdef.txt §一 (a plan we do not hold)", "004_0123456789abcdef.txt"),
    ("Smith and Wang (2018), table 2", "cites no document"),
    ("the 2019 white paper on rural revitalisation", "white paper"),
])
def test_the_check_reports_a_made_up_citation(tmp_path, source, reported):
    """The test above can fail: a parameter file citing a document the registry lacks is caught."""
    path = tmp_path / "sim" / "inputs" / "parameters" / "made_up.toml"
    path.parent.mkdir(parents=True)
    path.write_text(f'[x]\nlabel = "x"\nunit = "share"\nvalue = 0.5\nsource = "{source}"\n',
                    encoding="utf-8")
    problems = citation_problems([path], [])
    assert problems and all("made_up.toml [x] source" in p for p in problems)
    assert any(reported in p for p in problems), problems


def test_the_check_reports_a_made_up_citation_in_a_scenario_comment(tmp_path):
    path = tmp_path / "made_up.toml"
    path.write_text("# Budgets from the county yearbook (2017) and 005 §二(一).\n"
                    '[scenario]\nname = "x"   # 006_0123456789abcdef.txt §三\n', encoding="utf-8")
    problems = " ".join(citation_problems([], [path]))
    assert "yearbook" in problems and "005 §" in problems and "006_0123456789abcdef.txt" in problems
    good = tmp_path / "good.toml"
    good.write_text("# Sanming (001_75e9794d5161ca6f.txt, 001 §一(二)); the line from the national\n"
                    "# statistical bulletins and the 2021 white paper.\n", encoding="utf-8")
    assert citation_problems([], [good]) == []


def test_every_entry_is_cited_or_kept_for_context():
    used = cited_everywhere(PARAMETER_FILES, SCENARIO_FILES)
    docs = registry()
    context = {d for d, s in docs.items() if s.context}
    assert set(docs) - context <= used, f"in the registry but cited nowhere: {sorted(set(docs) - context - used)}"
    assert not context & used, f"marked context = true but cited: {sorted(context & used)}"


# --- finding documents in a citation ---------------------------------------------------------------

@pytest.mark.parametrize("text, docs", [
    ("001_75e9794d5161ca6f.txt §二(一)", ("001_75e9794d5161ca6f.txt",)),
    ("held at the 2020 value (transition period, 003 §一)", ("003_4970a00864489cc2.txt",)),
    ("000 ch. 48 and 000 box 30", ("000_efc8c051b48057eb.txt",)),
    ("Sanming's shares (001, attachment table)", ("001_75e9794d5161ca6f.txt",)),
    ("verified by village review (002 ch. 11)", ("002_1231a61879d9885b.txt",)),
    ("2016 national opinion on the poverty exit mechanism (as given in shared DOMAIN.md)",
     ("exit-opinion-2016", "domain")),
    ("national statistics bulletins and the 2021 white paper", ("nbs-bulletins", "white-paper-2021")),
    ("income, national statistical bulletins 2014–2024 (NBS)", ("nbs-bulletins",)),
    ("returns reported by the State Council Information Office and CCTV", ("scio-returns",)),
    ("assumption", ()),
    ("60,000 yuan a person, 3,000 resettlement villages", ()),
    ("the domain of the model", ()),
])
def test_cited_finds_the_documents(text, docs):
    assert cited(text) == docs


def test_titles_for_display():
    docs = registry()
    assert titles("001_75e9794d5161ca6f.txt §二(一)") == docs["001_75e9794d5161ca6f.txt"].short_en
    both = titles("national statistics bulletins and the 2021 white paper", "title_zh")
    assert both == f"{docs['nbs-bulletins'].title_zh}; {docs['white-paper-2021'].title_zh}"
    assert titles("assumption") == ""
    with pytest.raises(ValueError):
        titles("NBS", "issuer")


# --- the registry file ----------------------------------------------------------------------------

def test_the_registry_loads_and_every_entry_is_complete():
    docs = load_sources()
    assert {"001_75e9794d5161ca6f.txt", "exit-opinion-2016", "nbs-bulletins", "white-paper-2021",
            "domain"} <= set(docs)
    for s in docs.values():
        assert s.title_zh and s.title_en and s.short_en and s.issuer and s.date and s.used_for
        assert len(s.short_en) <= 40, s.id
        if s.seed:
            assert s.where == f"shared/seeds/{s.id}"


def test_seed_entries_match_the_seed_files():
    """The registry's seed entries are the seed files, and quote the title and date they print.
    Checked against the seeds where they are beside the checkout, else against the quotes kept in
    tests/data/seed_quotes.toml (which the first case checks in turn)."""
    docs = registry()
    kept = tomllib.loads((Path(__file__).parent / "data" / "seed_quotes.toml").read_text(encoding="utf-8"))
    seeds = {p.name for p in SEEDS.glob("*.txt")} if SEEDS.is_dir() else set(kept["files"])
    assert {d for d, s in docs.items() if s.seed} == seeds == set(kept["files"])
    for name, quote in kept["quotes"].items():
        assert docs[name].title_zh == quote["title"], name
        if SEEDS.is_dir():
            head = (SEEDS / name).read_text(encoding="utf-8")[:quote["within"]]
            for key, text in quote.items():
                if key != "within":
                    assert text in head, (name, key, text)
    assert docs["001_75e9794d5161ca6f.txt"].date == "2015-11-24"
    assert kept["quotes"]["001_75e9794d5161ca6f.txt"]["date"] == "2015年11月24日"


GOOD = '''[exit-opinion-2016]
title_zh = "关于建立贫困退出机制的意见"
title_en = "Opinion on establishing a poverty exit mechanism"
short_en = "2016 exit opinion"
issuer = "General Offices"
date = "April 2016"
used_for = "exit standards"
where = "General Offices"
aliases = ['exit opinion']
'''

SEED = '''["005_0123456789abcdef.txt"]
title_zh = "某计划"
title_en = "A plan"
short_en = "A plan"
issuer = "not given in the document"
date = "not given in the document"
used_for = "nothing"
where = "shared/seeds/005_0123456789abcdef.txt"
'''


@pytest.mark.parametrize("text, key, problem", [
    (GOOD + 'titel_en = "x"\n', "exit-opinion-2016.titel_en", "did you mean 'title_en'"),
    (GOOD.replace('title_en = "Opinion on establishing a poverty exit mechanism"\n', ""),
     "exit-opinion-2016.title_en", "missing"),
    (GOOD.replace('issuer = "General Offices"', 'issuer = "  "'), "exit-opinion-2016.issuer", "non-empty"),
    (GOOD.replace('date = "April 2016"', "date = 2016"), "exit-opinion-2016.date", "non-empty string"),
    (GOOD + "context = \"yes\"\n", "exit-opinion-2016.context", "true or false"),
    (GOOD.replace("['exit opinion']", "['exit (opinion']"), "exit-opinion-2016.aliases", "regular expression"),
    (GOOD.replace("aliases = ['exit opinion']\n", ""), "exit-opinion-2016.aliases", "nothing could cite"),
    (GOOD.replace("[exit-opinion-2016]", "[Exit_Opinion]"), "Exit_Opinion", "not a document id"),
    (SEED.replace('where = "shared/seeds/005_0123456789abcdef.txt"', 'where = "seeds/005.txt"'),
     "005_0123456789abcdef.txt.where", "shared/seeds"),
    (SEED + SEED.replace("005_0123456789abcdef", "005_fedcba9876543210"), "005_fedcba9876543210.txt",
     "shares the prefix 005 with 005_0123456789abcdef.txt"),
    ('exit-opinion-2016 = "a string"\n', "exit-opinion-2016", "must be a table"),
    ("[broken\n", "(top level)", "not valid TOML"),
])
def test_a_bad_entry_is_refused_naming_the_file_and_key(tmp_path, text, key, problem):
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_sources(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {key}"), message
    assert problem in message, message


def test_a_good_entry_loads(tmp_path):
    path = tmp_path / "sources.toml"
    path.write_text(GOOD + "\n" + SEED, encoding="utf-8")
    docs = load_sources(path)
    assert cited("the 2016 exit opinion and 005 §一", docs) == ("exit-opinion-2016", "005_0123456789abcdef.txt")


# --- what users see -------------------------------------------------------------------------------

def test_params_csv_includes_the_titles():
    result = CliRunner().invoke(app, ["params", "--csv"])
    assert result.exit_code == 0
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert {"document", "cites", "title_en", "title_zh"} <= set(next(iter(rows.values())))
    docs = registry()
    line = rows["poverty_line.national"]
    assert docs["white-paper-2021"].title_en in line["title_en"]
    assert docs["white-paper-2021"].title_zh in line["title_zh"]
    assert "nbs-bulletins" in line["cites"].split("; ")
    sanming = rows["programme.welfare.five_guarantee_share"]
    assert sanming["title_zh"] == "三明市深化精准扶贫2015-2018年行动计划"
    assert sanming["document"] == docs["001_75e9794d5161ca6f.txt"].short_en
    assert rows["shocks.illness_rate"]["document"] == rows["shocks.illness_rate"]["title_zh"] == ""


def test_params_table_shows_the_document():
    result = CliRunner().invoke(app, ["params"])
    assert result.exit_code == 0
    header, *lines = result.stdout.splitlines()
    assert header.split()[-1] == "document"
    row = next(line for line in lines if line.startswith("programme.relocation.cost_one_off "))
    assert row.rstrip().endswith(registry()["000_efc8c051b48057eb.txt"].short_en)


def test_docs_list_every_registry_entry():
    text = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
    for doc, s in registry().items():
        assert f"`{doc}`" in text and s.title_zh in text, doc
