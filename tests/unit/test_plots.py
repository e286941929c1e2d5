"""Evaluation plots: the right files per task, real PNGs, deterministic, no pyplot state."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pytest

from genoml_core.evaluation import plots
from genoml_core.errors import ConfigError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def scores_for(task: str, n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if task == "binary":
        y = rng.integers(0, 2, n)
        return y, np.clip(0.4 * y + 0.6 * rng.random(n), 0, 1)
    if task == "multiclass":
        y = rng.integers(0, 3, n)
        p = rng.dirichlet(np.ones(3), n)
        p[np.arange(n), y] += 0.5
        return y, p / p.sum(axis=1, keepdims=True)
    y = rng.standard_normal(n)
    return y, y + 0.5 * rng.standard_normal(n)


NAMES = {"binary": ["control", "case"], "multiclass": ["a", "b", "c"], "continuous": None}


def check_png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 5000
    img = mpimg.imread(path)
    assert img.shape[0] > 200 and img.shape[1] > 200
    assert img[..., :3].std() > 0.05  # not a blank canvas


@pytest.mark.parametrize("task", ["binary", "multiclass", "continuous"])
def test_evaluation_plots_writes_the_task_set(task: str, tmp_path: Path) -> None:
    y, s = scores_for(task)
    figs_before = plt.get_fignums()
    out = plots.evaluation_plots(task, y, s, tmp_path / "eval", class_names=NAMES[task], prefix="test_")
    assert set(out) == set(plots.PLOT_FILES[task])
    for name, path in out.items():
        assert path == tmp_path / "eval" / f"test_{plots.PLOT_FILES[task][name]}"
        check_png(path)
    assert sorted(p.name for p in (tmp_path / "eval").iterdir()) == sorted(p.name for p in out.values())
    assert plt.get_fignums() == figs_before  # nothing left open in pyplot


def test_expected_file_names() -> None:
    assert set(plots.PLOT_FILES["binary"].values()) == {
        "roc.png", "pr.png", "confusion.png", "calibration.png", "score_distributions.png",
    }
    assert {"roc.png", "confusion.png", "score_distributions.png"} <= set(plots.PLOT_FILES["multiclass"].values())
    assert set(plots.PLOT_FILES["continuous"].values()) == {"scatter.png", "residuals.png"}


def test_plots_are_deterministic(tmp_path: Path) -> None:
    y, s = scores_for("multiclass")
    a = plots.plot_confusion("multiclass", y, s, tmp_path / "a.png", class_names=["x", "y", "z"])
    b = plots.plot_confusion("multiclass", y, s, tmp_path / "b.png", class_names=["x", "y", "z"])
    assert a.read_bytes() == b.read_bytes()
    y, s = scores_for("binary")
    a = plots.plot_calibration(y, s, tmp_path / "c1.png")
    b = plots.plot_calibration(y, s, tmp_path / "c2.png")
    assert a.read_bytes() == b.read_bytes()


def test_different_data_give_different_images(tmp_path: Path) -> None:
    y, s = scores_for("binary", seed=0)
    y2, s2 = scores_for("binary", seed=1)
    a = plots.plot_roc("binary", y, s, tmp_path / "a.png")
    b = plots.plot_roc("binary", y2, s2, tmp_path / "b.png")
    assert a.read_bytes() != b.read_bytes()


def test_degenerate_inputs_still_plot(tmp_path: Path) -> None:
    y = np.ones(30, dtype=int)
    s = np.linspace(0.1, 0.9, 30)
    out = plots.evaluation_plots("binary", y, s, tmp_path, class_names=None)
    for path in out.values():
        check_png(path)
    out = plots.evaluation_plots("continuous", np.arange(10.0), np.full(10, 3.0), tmp_path / "c", class_names=None)
    for path in out.values():
        check_png(path)


def test_bad_arguments(tmp_path: Path) -> None:
    y, s = scores_for("multiclass")
    with pytest.raises(ConfigError, match="one name per class"):
        plots.evaluation_plots("multiclass", y, s, tmp_path, class_names=["a", "b"])
    with pytest.raises(ConfigError, match="binary' or 'multiclass"):
        plots.plot_roc("continuous", y.astype(float), y.astype(float), tmp_path / "x.png")
    with pytest.raises(ConfigError, match="task must be one of"):
        plots.evaluation_plots("ordinal", y, s, tmp_path, class_names=None)
    assert not list(tmp_path.iterdir())
