"""The final model a prediction applies, with its fold models, recipes and PCA weights checked
present."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .. import io, layout
from ..evaluation.ensemble import FinalModel
from ..errors import InputError
from ..store import pca_weights_path


def _recipe_task(recipes: Sequence[Path]) -> tuple[str, list[str] | None]:
    found = {(r["task"], tuple(r["class_names"] or ())) for r in (io.read_json(p) for p in recipes)}
    if len(found) != 1:
        raise InputError(f"the fold recipes disagree on task/classes: {sorted(found)}; rerun the workflow")
    task, names = found.pop()
    return str(task), (list(names) or None)


def _recipe_paths(model: FinalModel) -> list[Path]:
    """Every recipe the final model's members read (each once, in member and fold order)."""
    return list(dict.fromkeys(p for m in model.members for p in m.recipes.values()))


def _check_files(model: FinalModel) -> None:
    for m in model.members:
        for p in [*m.models.values(), *m.recipes.values()]:
            if not Path(p).exists():
                raise InputError(f"{p}: not found; the results folder is incomplete (rerun the workflow)")
    for path in _recipe_paths(model):
        w = pca_weights_path(io.read_json(path), path)
        if w is not None and not w.exists():
            raise InputError(f"{w}: the ancestry PCA weights named by {path} are missing; the results folder is "
                             "incomplete (rerun the workflow)")


def final_model_from_inputs(final: str | Path, *, task: str, class_names: list[str] | None) -> FinalModel:
    """The final model a rule reads (``results/final/final_model.json``), checked against the config."""
    model = FinalModel.load(final)
    _check_files(model)
    r_task, _ = _recipe_task(_recipe_paths(model))
    if r_task != task or model.task != task:
        raise InputError(f"the final model was made for task {model.task!r}, the config says {task!r}; "
                         "rerun the workflow")
    return model


def final_model_from_results(results: str | Path) -> FinalModel:
    """The final model of a finished results folder (what ``genoml-predict --results`` reads):
    ``final/final_model.json``, written once by ``select_final``; nothing is re-picked here."""
    results = Path(results)
    path = results / layout.in_results(layout.FINAL_MODEL)
    if not path.exists():
        raise InputError(
            f"{path}: not found; {results} is not a finished results folder (run the workflow first, "
            f"e.g. snakemake --cores 2 {layout.FINAL_MODEL})"
        )
    model = FinalModel.load(path, results)
    _check_files(model)
    task, _ = _recipe_task(_recipe_paths(model))
    if task != model.task:
        raise InputError(f"{path}: made for task {model.task!r} but its recipes say {task!r}; rerun the workflow")
    return model
