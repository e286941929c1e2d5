"""Config validation: defaults from the schema, and mistakes named with their fix."""

from pathlib import Path

import pytest
import yaml

from genoml_core.tuning import search
from genoml_core.config import (
    check_input_paths,
    learner_space,
    load_config,
    resolve_learners,
    validate_config,
)
from genoml_core.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
MINIMAL = {"task": "binary", "data": {"genotypes": "g", "phenotype": "p.tsv", "phenotype_column": "y"}}


def test_shipped_config_is_valid_and_complete():
    cfg = load_config(REPO / "config" / "config.yaml")
    assert cfg["seed"] == 42 and cfg["task"] == "binary"
    # the shipped config spells out every default the schema has, so users see them all
    defaults = validate_config(MINIMAL)
    for section in ("qc", "split", "ld_prune", "assoc_filter", "munge", "train", "evaluate"):
        assert set(cfg[section]) == set(defaults[section]), section


def test_defaults_are_filled():
    cfg = validate_config(MINIMAL)
    assert cfg["seed"] == 42
    assert cfg["qc"] == {"mind": 0.05, "geno": 0.05, "maf": 0.01, "hwe": 1e-6, "hwe_controls_only": True}
    assert cfg["split"]["method"] == "kfold" and cfg["split"]["n_folds"] == 5 and cfg["split"]["test_fraction"] == 0.1
    assert cfg["train"]["n_trials"] == 1
    assert cfg["data"]["binary_coding"] == "01"


def test_typo_is_named_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"config key qc: unknown key 'mnd' \(did you mean 'mind'\?\)"):
        validate_config({**MINIMAL, "qc": {"mnd": 0.1}})


def test_impossible_value_names_the_key():
    with pytest.raises(ConfigError, match=r"config key qc\.maf"):
        validate_config({**MINIMAL, "qc": {"maf": 0.7}})
    with pytest.raises(ConfigError, match=r"config key task: 'binomial' is not allowed"):
        validate_config({**MINIMAL, "task": "binomial"})


def test_learner_must_fit_the_task():
    with pytest.raises(ConfigError, match=r"train\.learners: 'ridge' cannot be trained for task 'binary'"):
        validate_config({**MINIMAL, "train": {"learners": ["ridge"]}})
    cfg = validate_config({**MINIMAL, "task": "continuous"})
    assert "ridge" in resolve_learners(cfg) and "logistic_l1" not in resolve_learners(cfg)
    # the genome-wide GLM reads genotypes: a default with them, left out / refused in a matrix-only run
    assert "penalized_glm" in resolve_learners(cfg)
    matrix = {**MINIMAL, "data": {**MINIMAL["data"], "genotypes": None, "omics": "x.tsv"}}
    assert "penalized_glm" not in resolve_learners(validate_config(matrix))
    with pytest.raises(ConfigError, match="reads genotypes"):
        resolve_learners(validate_config({**matrix, "train": {"learners": ["penalized_glm", "xgboost"]}}))


def test_search_space_override_and_validation():
    space = {"C": {"type": "float", "low": 0.01, "high": 1.0, "log": True, "default": 0.1}}
    cfg = validate_config({**MINIMAL, "train": {"learners": ["logistic_l1"], "search_spaces": {"logistic_l1": space}}})
    assert learner_space(cfg, "logistic_l1") == space
    bad = {"C": {"type": "float", "low": 1.0, "high": 0.1}}
    with pytest.raises(ConfigError, match="logistic_l1"):
        validate_config({**MINIMAL, "train": {"learners": ["logistic_l1"], "search_spaces": {"logistic_l1": bad}}})


def test_every_learner_has_a_default_space():
    for task in ("binary", "multiclass", "continuous"):
        cfg = validate_config({**MINIMAL, "task": task})
        for name in resolve_learners(cfg):
            search.validate_space(name, learner_space(cfg, name))


def test_missing_files_are_named(tmp_path):
    cfg = validate_config(MINIMAL)
    with pytest.raises(ConfigError, match=r"data\.genotypes: no genotype files at g \(looked for g\.bed/\.bim/\.fam") as err:
        check_input_paths(cfg, base=tmp_path)
    assert f"data.phenotype: file {tmp_path / 'p.tsv'} does not exist" in str(err.value)
    (tmp_path / "g.bed").write_text("")  # a .bed without its .bim and .fam: the missing ones are named
    with pytest.raises(ConfigError, match=r"data\.genotypes: plink1 input g lacks g\.bim, g\.fam"):
        check_input_paths(cfg, base=tmp_path)


def test_load_config_rejects_bad_yaml(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("task: [binary\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)
    p.write_text(yaml.safe_dump(MINIMAL))
    assert load_config(p)["task"] == "binary"


def test_every_options_from_dict_names_an_unknown_key_and_the_allowed_ones():
    """One check (errors.reject_unknown) behind every options dataclass's from_dict."""
    from genoml_core.errors import ConfigError
    from genoml_core.explain import ExplainOptions
    from genoml_core.evaluation.fairness import SubgroupOptions
    from genoml_core.models.nas import NASConfig
    from genoml_core.predict import Cohort, PredictOptions
    from genoml_core.models.training import TrainOptions

    for cls in (ExplainOptions, SubgroupOptions, NASConfig, PredictOptions, Cohort, TrainOptions):
        with pytest.raises(ConfigError, match=r"unknown .*\['bogus'\]; allowed: \['"):
            cls.from_dict({"bogus": 1})
