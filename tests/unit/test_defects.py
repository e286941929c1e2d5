"""Issue 12, part 7.9: nested `snakemake --config` values are read by the schema's types.

(The other defects of issue 12 parts 5 and 7 are tested beside their modules: test_embed.py,
test_metrics.py, test_estimators.py, test_inputs.py.)
"""

from __future__ import annotations

import pytest
from snakemake.cli import parse_config

from genoml_core.config import coerce_text_values, validate_config
from genoml_core.errors import ConfigError

MINIMAL = {"task": "binary", "data": {"genotypes": "g", "phenotype": "p.tsv", "phenotype_column": "y"}}


def _with_cli(*entries: str) -> dict:
    """MINIMAL merged with --config entries parsed exactly as Snakemake parses them."""
    cli = parse_config(list(entries))
    return {**MINIMAL, **{k: ({**MINIMAL.get(k, {}), **v} if isinstance(v, dict) else v) for k, v in cli.items()}}


def test_nested_cli_config_values_are_typed_by_the_schema() -> None:
    raw = _with_cli('embed={"enabled": true, "n_trials": 2, "tsne_perplexity": 1e1, "search_space": null}',
                    'train={"class_weight": none, "n_trials_per_learner": {"xgboost": 3}}')
    assert raw["embed"]["enabled"] == "true"  # what Snakemake hands over: text
    cfg = validate_config(raw)
    assert cfg["embed"] == {"enabled": True, "n_trials": 2, "tsne_perplexity": 10.0, "search_space": None}
    assert cfg["train"]["class_weight"] == "none" and cfg["train"]["n_trials_per_learner"] == {"xgboost": 3}


def test_text_is_kept_where_the_schema_allows_text() -> None:
    raw = _with_cli('data={"genotypes": "123", "phenotype": "true", "phenotype_column": "1", '
                    '"missing_values": [NA, -9], "binary_coding": "12"}')
    cfg = coerce_text_values(raw)
    assert cfg["data"]["genotypes"] == "123" and cfg["data"]["phenotype"] == "true"
    assert cfg["data"]["phenotype_column"] == "1" and cfg["data"]["missing_values"] == ["NA", "-9"]
    assert cfg["data"]["binary_coding"] == "12"
    assert raw["data"]["missing_values"] == ["NA", "-9"]  # a copy: the input is not modified


def test_text_that_is_not_the_type_still_fails_with_a_hint() -> None:
    with pytest.raises(ConfigError, match=r"embed\.enabled: 'yes please' has the wrong type; expected boolean "
                                          r"\(text that does not read as boolean.*--configfile"):
        validate_config(_with_cli('embed={"enabled": yes please}'))
