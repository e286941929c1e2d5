"""Per-group held-out metrics: gaps are found and flagged, small groups are named, calibration."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from genoml_core.config import SCHEMA_PATH
from genoml_core.errors import ConfigError, InputError
from genoml_core.evaluation.fairness import (
    MISSING_GROUP, SubgroupOptions, calibration, read_groups, run_subgroups, subgroup_metrics,
)

CLASSES = ["control", "case"]


def binary_predictions(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """pop_a (300): informative scores; pop_b (120): pure noise; pop_c (6): tiny; 10 without a group row."""
    rng = np.random.default_rng(seed)
    sizes = {"pop_a": 300, "pop_b": 120, "pop_c": 6, None: 10}
    rows = []
    i = 0
    for pop, n in sizes.items():
        y = rng.integers(0, 2, n)
        if pop == "pop_b":
            s = rng.uniform(0.05, 0.95, n)
        else:
            s = 1 / (1 + np.exp(-(2.5 * (y - 0.5) + rng.standard_normal(n))))
        for yi, si in zip(y, s):
            i += 1
            rows.append({"FID": f"F{i}", "IID": f"I{i}", "observed": CLASSES[yi], "prob_control": 1 - si,
                         "prob_case": si, "score": si, "predicted": CLASSES[int(si >= 0.5)], "ancestry": pop,
                         "sex": "female" if i % 2 else "male"})
    df = pd.DataFrame(rows)
    groups = df[df.ancestry.notna()][["FID", "IID", "ancestry", "sex"]].reset_index(drop=True)
    return df.drop(columns=["ancestry", "sex"]), groups


def test_option_defaults_equal_the_schema():
    schema = yaml.safe_load(Path(SCHEMA_PATH).read_text())["properties"]["subgroups"]["properties"]
    defaults = {k: v["default"] for k, v in schema.items()}
    assert {f: getattr(SubgroupOptions(), f) for f in defaults} == defaults
    assert set(SubgroupOptions.__dataclass_fields__) == set(defaults)
    with pytest.raises(ConfigError, match="unknown"):
        SubgroupOptions.from_dict({"min_size": 3})


def test_a_group_the_model_fails_is_flagged_not_hidden():
    pred, groups = binary_predictions()
    table, summary = subgroup_metrics(pred, groups, task="binary", class_names=CLASSES, options=SubgroupOptions(),
                                      n_bootstrap=200, seed=1)
    anc = table[table.column == "ancestry"].set_index("group")
    assert set(anc.index) == {"pop_a", "pop_b", "pop_c", MISSING_GROUP}
    assert anc.loc["pop_a", "n"] == 300 and anc.loc[MISSING_GROUP, "n"] == 10
    assert anc.loc["pop_a", "value"] > 0.8 and 0.3 < anc.loc["pop_b", "value"] < 0.7
    for g in ("pop_a", "pop_b"):
        assert anc.loc[g, "ci_low"] <= anc.loc[g, "value"] <= anc.loc[g, "ci_high"]
    assert anc.loc["pop_a", "eligible"] and not anc.loc["pop_c", "eligible"]
    info = summary["columns"]["ancestry"]
    assert info["worst_group"] == "pop_b" and info["best_group"] == "pop_a" and info["flagged"]
    assert info["gap"] == pytest.approx(anc.loc["pop_a", "value"] - anc.loc["pop_b", "value"])
    assert "pop_b" in info["worse_than_overall"]
    text = "\n".join(summary["warnings"])
    assert "ancestry: roc_auc differs by" in text
    assert "pop_c (n=6) too small" in text  # an under-represented group is named, not silently skipped
    assert "10 test sample(s) have no row in the groups file" in text
    # sex is unrelated to the scores: no large gap
    assert summary["columns"]["sex"]["gap"] < 0.15
    overall = table[table.column == "all"].iloc[0]
    assert overall.n == len(pred) and summary["overall"]["value"] == pytest.approx(overall.value)


def test_calibration_measures():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.02, 0.98, 20000)
    y = (rng.random(p.size) < p).astype(int)
    c = calibration("binary", y, p)
    assert abs(c["calibration_in_the_large"]) < 0.01 and c["calibration_slope"] == pytest.approx(1.0, abs=0.05)
    over = calibration("binary", y, np.clip(0.5 + 1.8 * (p - 0.5), 0.001, 0.999))  # over-confident
    assert over["calibration_slope"] < 0.8
    assert math.isnan(calibration("binary", np.zeros(10, int), np.full(10, 0.3))["calibration_slope"])
    probs = rng.dirichlet([1, 1, 1], 5000)
    yk = np.array([rng.choice(3, p=q) for q in probs])
    assert calibration("multiclass", yk, probs)["ece"] < 0.03
    x = rng.standard_normal(1000)
    c = calibration("continuous", x + 0.1 * rng.standard_normal(1000) + 0.5, x)
    assert c["mean_residual"] == pytest.approx(0.5, abs=0.05) and c["calibration_slope"] == pytest.approx(1, abs=0.05)


@pytest.mark.parametrize("task", ["multiclass", "continuous"])
def test_other_tasks(task):
    rng = np.random.default_rng(2)
    n = 200
    ids = pd.DataFrame({"FID": [f"F{i}" for i in range(n)], "IID": [f"I{i}" for i in range(n)]})
    if task == "continuous":
        y = rng.standard_normal(n)
        pred = ids.assign(observed=y, predicted=y + 0.5 * rng.standard_normal(n))
        names = None
    else:
        names = ["a", "b", "c"]
        y = rng.integers(0, 3, n)
        probs = rng.dirichlet([1, 1, 1], n)
        probs[np.arange(n), y] += 1
        probs /= probs.sum(1, keepdims=True)
        pred = ids.assign(observed=[names[k] for k in y], **{f"prob_{c}": probs[:, k] for k, c in enumerate(names)})
    groups = ids.assign(site=np.where(np.arange(n) < 120, "s1", "s2"))
    table, summary = subgroup_metrics(pred, groups, task=task, class_names=names, options=SubgroupOptions(),
                                      n_bootstrap=50, seed=0)
    assert summary["metric"] == ("r2" if task == "continuous" else "roc_auc_ovr_macro")
    assert set(table.group) == {"all", "s1", "s2"}
    assert {"ece"} <= set(table.columns) if task == "multiclass" else {"mean_residual"} <= set(table.columns)


def test_groups_file_is_checked(tmp_path):
    p = tmp_path / "g.tsv"
    p.write_text("FID\tIID\tancestry\nF1\tI1\tpop_a\nF1\tI1\tpop_b\n")
    with pytest.raises(InputError, match="appears 2 times"):
        read_groups(p)
    p.write_text("ID\tancestry\nI1\tpop_a\n")
    with pytest.raises(InputError, match="FID"):
        read_groups(p)
    p.write_text("FID\tIID\tage\n" + "".join(f"F{i}\tI{i}\t{20 + i}\n" for i in range(30)))
    with pytest.raises(InputError, match="bin numeric values"):
        read_groups(p)
    p.write_text("FID\tIID\tancestry\tsite\nF1\tI1\tpop_a\t\n")
    g = read_groups(p, ["site"])
    assert list(g.columns) == ["FID", "IID", "site"] and g.site[0] == MISSING_GROUP
    with pytest.raises(InputError, match="not found"):
        read_groups(p, ["batch"])


def test_run_writes_table_summary_and_plot(tmp_path):
    pred, groups = binary_predictions(3)
    pred.to_csv(tmp_path / "pred.tsv", sep="\t", index=False)
    groups.to_csv(tmp_path / "groups.tsv", sep="\t", index=False)
    out = {k: tmp_path / f"out.{k}" for k in ("tsv", "json", "png")}
    summary = run_subgroups(tmp_path / "pred.tsv", tmp_path / "groups.tsv", task="binary", class_names=CLASSES,
                            options=SubgroupOptions(columns=("ancestry",)), n_bootstrap=20, seed=0,
                            table_path=out["tsv"], summary_path=out["json"], plot_path=out["png"])
    assert summary["columns"].keys() == {"ancestry"}
    assert out["png"].read_bytes()[:4] == b"\x89PNG"
    assert set(pd.read_csv(out["tsv"], sep="\t").column) == {"all", "ancestry"}
    with pytest.raises(ConfigError, match="data.groups"):
        run_subgroups(tmp_path / "pred.tsv", None, task="binary", class_names=CLASSES, options=SubgroupOptions(),
                      n_bootstrap=0, seed=0, table_path=out["tsv"], summary_path=out["json"], plot_path=out["png"])
