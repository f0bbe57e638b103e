"""The programme interface (sim/core/programme.py) and the registry (sim/programmes): every
programme's parameter file has exactly the keys its module declares, of the declared kinds; a
missing, misspelt or mistyped key is an InputError naming the file and the key."""

from __future__ import annotations

import pytest

from sim.inputs.errors import InputError
from sim.inputs.params import PROGRAMME_DIR, ParameterSet, load_parameter_file, programme_names
from sim.programmes import PROGRAMME_NAMES, REGISTRY, STREAM_IDS, checked_registry
from sim.programmes.industry import Industry


def test_registry_matches_the_parameter_files():
    assert checked_registry() == REGISTRY
    assert set(PROGRAMME_NAMES) == set(programme_names())
    assert PROGRAMME_NAMES[:6] == ("industry", "employment", "relocation", "education", "health", "welfare")


def test_stream_ids_are_unique_and_stable():
    assert len(set(STREAM_IDS.values())) == len(STREAM_IDS)
    assert STREAM_IDS["industry_failure"] == 11 and STREAM_IDS["population"] == 1


def _params_with(tmp_path, text: str) -> ParameterSet:
    path = tmp_path / "industry.toml"
    path.write_text((PROGRAMME_DIR / "industry.toml").read_text(encoding="utf-8") + text, encoding="utf-8")
    return ParameterSet(load_parameter_file(path, "programme.industry"))


def _without(tmp_path, key: str) -> ParameterSet:
    text = (PROGRAMME_DIR / "industry.toml").read_text(encoding="utf-8")
    start = text.index(f"[{key}]")
    end = text.find("\n[", start + 1)
    path = tmp_path / "industry.toml"
    path.write_text(text[:start] + (text[end + 1:] if end > 0 else ""), encoding="utf-8")
    return ParameterSet(load_parameter_file(path, "programme.industry"))


def test_a_misspelt_key_names_the_file_and_the_key(tmp_path):
    params = _params_with(tmp_path, '\n[failur_rate]\nlabel = "x"\nunit = "share"\nvalue = 0.1\nsource = "assumption"\nreason = "x"\n')
    with pytest.raises(InputError) as err:
        Industry.check_parameters(params)
    assert "industry.toml" in err.value.file and err.value.key == "failur_rate"
    assert "did you mean 'failure_rate'" in str(err.value)


def test_a_missing_key_names_the_file_and_the_key(tmp_path):
    with pytest.raises(InputError) as err:
        Industry.check_parameters(_without(tmp_path, "failure_rate"))
    assert err.value.key == "failure_rate" and "needs this parameter" in str(err.value)


def test_a_key_of_the_wrong_kind_is_refused(tmp_path):
    params = _params_with(tmp_path, "")
    text = (tmp_path / "industry.toml").read_text(encoding="utf-8").replace(
        '[cost_basis]\nlabel = "Unit in which costs are counted"\nunit = "unit"\nvalue = "household"\nchoices = ["household", "person", "labourer", "pupil"]',
        '[cost_basis]\nlabel = "Unit in which costs are counted"\nunit = "unit"\nvalue = 3')
    (tmp_path / "industry.toml").write_text(text, encoding="utf-8")
    params = ParameterSet(load_parameter_file(tmp_path / "industry.toml", "programme.industry"))
    with pytest.raises(InputError) as err:
        Industry.check_parameters(params)
    assert err.value.key == "cost_basis" and "must be text" in str(err.value)


def test_every_shipped_programme_passes_its_own_check():
    defaults = ParameterSet.defaults()
    for programme in REGISTRY:
        programme.check_parameters(defaults)  # raises on any mismatch
