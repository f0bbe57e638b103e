"""The registry of cited documents: which document a citation names, and its title.

Parameter files (``source`` and ``reason``) and scenario files (comments) cite documents by short
ids such as ``001_75e9794d5161ca6f.txt §二(一)`` or by name ("the 2016 national exit opinion").
``sim/inputs/sources.toml`` holds one table per document: Chinese and English titles, issuer,
date, what the model takes from it and where it can be found. This module owns that file: it
loads and validates it (strictly, as ``params`` does for parameter files: an unknown key, an empty
or mistyped field, or a pattern that does not compile is an ``InputError`` naming the file and the
key), finds the documents a piece of text cites (``cited``), gives their display titles
(``titles``), and reports citations it cannot place (``unknown_citations``).

A seed document is named by its file name, or, once that has been given, by its three-digit prefix
followed by a section ("001 §二(一)", "000 ch. 48", "000 box 30", "001, attachment table").
Other documents are named by the regular expressions in their ``aliases`` (case-insensitive).
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import InputError

SOURCES_FILE = Path(__file__).parent / "sources.toml"
_ROOT = Path(__file__).resolve().parents[2]  # the checkout: files are shown relative to it

REQUIRED = ("title_zh", "title_en", "short_en", "issuer", "date", "used_for", "where")
OPTIONAL = ("aliases", "context", "note")
FIELDS = REQUIRED + OPTIONAL
TITLE_FIELDS = ("short_en", "title_en", "title_zh")

# A seed document's file name: three digits, an underscore, 16 hex digits, ".txt".
SEED_ID = re.compile(r"^\d{3}_[0-9a-f]{16}\.txt$")
SEED_NAME = re.compile(r"(?<![\w])(\d{3})_[0-9a-f]{16}\.txt")
# The short form of a seed citation: its prefix followed by a section marker.
SEED_SHORT = re.compile(r"(?<![\w,.])(\d{3}),?\s*(?=§|ch\.|box\s|Part\s|attachment)")
OTHER_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Words that announce a citation: a piece of text with one of these must name a known document.
CUES = re.compile(r"bulletin|communiqu|white paper|\bopinion|yearbook|(?-i:\bDOMAIN\b)|公报|白皮书|年鉴|《",
                  re.IGNORECASE)
# Where one clause of free text ends (a full stop before a capital or CJK character, a semicolon).
_CLAUSE_END = re.compile(r"[;；。]|\.(?=\s+[A-Z\u4e00-\u9fff(]|\s*$)")


@dataclass(frozen=True)
class Source:
    """One cited document."""

    id: str
    title_zh: str
    title_en: str
    short_en: str
    issuer: str
    date: str
    used_for: str
    where: str
    aliases: tuple[str, ...] = ()
    context: bool = False
    note: str = ""

    @property
    def seed(self) -> bool:
        """A seed document (``shared/seeds/<id>``), named by its file name."""
        return bool(SEED_ID.match(self.id))

    def patterns(self) -> tuple[re.Pattern, ...]:
        """Every pattern by which a citation names this document."""
        if self.seed:
            return (re.compile(re.escape(self.id)),)
        return tuple(re.compile(a, re.IGNORECASE) for a in self.aliases)


def _shown(path: Path) -> str:
    path = Path(path)
    resolved = path.resolve()
    return str(resolved.relative_to(_ROOT)) if resolved.is_relative_to(_ROOT) else str(path)


def _suggestion(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else " (a typo?)"


def _entry(shown: str, key: str, table: Any) -> Source:
    if not isinstance(table, dict):
        raise InputError(shown, key, table, "each document must be a table", ", ".join(REQUIRED))
    if not (SEED_ID.match(key) or OTHER_ID.match(key)):
        raise InputError(shown, key, None, "not a document id",
                         "a seed file name (NNN_<16 hex digits>.txt) or lower-case words joined by '-'")
    for field in table:
        if field not in FIELDS:
            raise InputError(shown, f"{key}.{field}", table[field],
                             "unknown key" + _suggestion(field, FIELDS), ", ".join(FIELDS))
    for field in REQUIRED:
        if field not in table:
            raise InputError(shown, f"{key}.{field}", None, "missing", "a non-empty string")
    for field in REQUIRED + ("note",):
        if field in table and (not isinstance(table[field], str) or not table[field].strip()):
            raise InputError(shown, f"{key}.{field}", table[field], "must be a non-empty string")
    context = table.get("context", False)
    if not isinstance(context, bool):
        raise InputError(shown, f"{key}.context", context, "must be true or false")
    aliases = table.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise InputError(shown, f"{key}.aliases", aliases, "must be a list of non-empty patterns")
    for alias in aliases:
        try:
            re.compile(alias, re.IGNORECASE)
        except re.error as exc:
            raise InputError(shown, f"{key}.aliases", alias, f"not a valid regular expression: {exc}") from None
    source = Source(id=key, aliases=tuple(aliases), context=context, note=table.get("note", ""),
                    **{f: table[f].strip() for f in REQUIRED})
    if source.seed:
        if source.where != f"shared/seeds/{key}":
            raise InputError(shown, f"{key}.where", source.where, "a seed document is found in shared/seeds",
                             f"shared/seeds/{key}")
        if aliases:
            raise InputError(shown, f"{key}.aliases", aliases,
                             "a seed document is named by its file name and prefix, not by aliases")
    elif not aliases:
        raise InputError(shown, f"{key}.aliases", None, "missing: nothing could cite this document",
                         "a list of patterns that name it")
    return source


def load_sources(path: Path = SOURCES_FILE) -> dict[str, Source]:
    """Read and check a registry file; every bad entry is an ``InputError`` naming file and key."""
    shown = _shown(path)
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(shown, "", None, f"not valid TOML: {exc}") from None
    except OSError as exc:
        raise InputError(shown, "", None, f"cannot be read: {exc.strerror}") from None
    sources = {key: _entry(shown, key, table) for key, table in raw.items()}
    prefixes: dict[str, str] = {}
    for s in sources.values():
        if s.seed:
            if s.id[:3] in prefixes:
                raise InputError(shown, s.id, None, f"shares the prefix {s.id[:3]} with "
                                 f"{prefixes[s.id[:3]]}, so '{s.id[:3]} §…' would be ambiguous")
            prefixes[s.id[:3]] = s.id
    return sources


@lru_cache(maxsize=1)
def _default() -> Mapping[str, Source]:
    return load_sources(SOURCES_FILE)


def registry() -> Mapping[str, Source]:
    """The shipped registry, ``sim/inputs/sources.toml`` (read once)."""
    return _default()


def _matches(text: str, sources: Mapping[str, Source]) -> list[tuple[int, str]]:
    """(position, document id) of every citation of a known document in ``text``."""
    out = []
    by_prefix = {s.id[:3]: s.id for s in sources.values() if s.seed}
    for s in sources.values():
        for pattern in s.patterns():
            out += [(m.start(), s.id) for m in pattern.finditer(text)]
    for m in SEED_SHORT.finditer(text):
        if m.group(1) in by_prefix:
            out.append((m.start(), by_prefix[m.group(1)]))
    return sorted(out)


def cited(text: str, sources: Mapping[str, Source] | None = None) -> tuple[str, ...]:
    """Ids of the documents ``text`` (a ``source`` string, a reason, a comment) cites, in the
    order they are first named. "assumption" cites nothing."""
    sources = registry() if sources is None else sources
    seen: dict[str, None] = {}
    for _, doc in _matches(text, sources):
        seen.setdefault(doc)
    return tuple(seen)


def titles(text: str, field: str = "short_en", sources: Mapping[str, Source] | None = None,
           sep: str = "; ") -> str:
    """The display title(s) of the documents ``text`` cites, joined by ``sep`` ("" for none):
    ``field`` is ``short_en`` (tables), ``title_en`` or ``title_zh``."""
    if field not in TITLE_FIELDS:
        raise ValueError(f"field must be one of {TITLE_FIELDS}, not {field!r}")
    sources = registry() if sources is None else sources
    return sep.join(getattr(sources[doc], field) for doc in cited(text, sources))


def unknown_citations(text: str, sources: Mapping[str, Source] | None = None,
                      context: str = "") -> list[str]:
    """Citations in ``text`` that name no document of the registry: a seed file name it does not
    hold, a short seed reference ("004 §一") with no seed of that prefix, and a clause that
    announces a document ("bulletin", "white paper", "opinion", "yearbook", "DOMAIN", 《…》) but
    names none the registry knows. Such a clause may refer back to a document named in
    ``context`` (a parameter's ``source`` for its ``reason``, the rest of a file's comments):
    "the bulletin values" after a source naming the statistical bulletins is known when the cue
    word is in that document's title. Empty when every citation is known."""
    sources = registry() if sources is None else sources
    earlier = " ".join(f"{sources[d].short_en} {sources[d].title_en} {sources[d].title_zh}".lower()
                       for d in cited(f"{context}\n{text}", sources))
    out = []
    for m in SEED_NAME.finditer(text):
        if m.group(0) not in sources:
            out.append(m.group(0))
    prefixes = {s.id[:3] for s in sources.values() if s.seed}
    for m in SEED_SHORT.finditer(text):
        if m.group(1) not in prefixes:
            out.append(text[m.start():m.start() + 12].strip())
    starts = [pos for pos, _ in _matches(text, sources)]
    bounds = [0] + [m.end() for m in _CLAUSE_END.finditer(text)] + [len(text)]
    for lo, hi in zip(bounds, bounds[1:]):
        clause = text[lo:hi]
        cues = [m.group(0).lower() for m in CUES.finditer(clause)]
        if cues and not any(lo <= pos < hi for pos in starts) and not all(c in earlier for c in cues):
            out.append(clause.strip())
    return out


def requires_citation(source: str) -> bool:
    """A parameter's ``source`` that is not an assumption must cite a registered document."""
    return not source.strip().lower().startswith("assumption")
