"""The final model's file: :class:`FinalModel` (read it, score with it) and
:func:`final_model_document` (write it from every learner's selection)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ... import layout
from ...errors import InputError
from ...genotypes.split import REFIT_FOLD
from .calibration import apply_calibrator
from .oof import read_oof
from .selection import FINAL_FORMAT, combine, select_final


@dataclass(frozen=True)
class Member:
    """One learner of the final model: its trial, weight and one model (and recipe) per fold."""

    learner: str
    trial: int
    weight: float
    feature_set: str
    models: dict[str, Path]
    recipes: dict[str, Path]

    @property
    def folds(self) -> list[str]:
        return list(self.models)


@dataclass(frozen=True)
class FinalModel:
    """The final model as written by ``select_final``: read it, never re-pick a winner.

    ``score(member_scores)`` combines the members' fold-averaged scores with the stack weights and
    applies the calibrator. Paths in the file are relative to the results folder.
    """

    task: str
    class_names: list[str] | None
    members: list[Member]
    calibrator: dict[str, Any]
    combiner: str
    spec: dict[str, Any]

    @property
    def learner(self) -> str:
        """A short name: the learner, or ``stack(a+b)``."""
        if len(self.members) == 1:
            return self.members[0].learner
        return "stack(" + "+".join(m.learner for m in self.members) + ")"

    @property
    def main(self) -> Member:
        """The member with the largest weight (the best learner when tied)."""
        return max(self.members, key=lambda m: m.weight)

    @property
    def cutoff(self) -> float | list[float] | None:
        """The decision cutoff of predicted classes (:func:`decision_cutoff`); None: 0.5 / arg-max."""
        return (self.spec.get("decision") or {}).get("cutoff")

    def score(self, member_scores: Sequence[np.ndarray], *, calibrated: bool = True) -> np.ndarray:
        """Final scores from each member's (fold-averaged) scores, in :attr:`members` order."""
        s = combine(member_scores, [m.weight for m in self.members])
        return apply_calibrator(self.calibrator, s, self.task) if calibrated else s

    @classmethod
    def load(cls, path: str | Path, results: str | Path | None = None) -> "FinalModel":
        """Read ``final_model.json``; ``results`` (default: its grandparent) anchors the paths."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: final model not found; run the workflow up to select_final first")
        try:
            spec = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise InputError(f"{path}: not a final model (invalid JSON: {e}); rerun select_final") from e
        if spec.get("format") != FINAL_FORMAT:
            raise InputError(f"{path}: final model format {spec.get('format')!r}, this genoml_core reads "
                             f"{FINAL_FORMAT}; rerun select_final")
        # the results folder: FINAL_MODEL's depth below it (final/final_model.json: the grandparent)
        root = Path(results) if results is not None else path.parents[len(_FINAL_IN_RESULTS.parts) - 1]
        members = [
            Member(
                learner=str(m["learner"]),
                trial=int(m["trial"]),
                weight=float(m["weight"]),
                feature_set=str(m.get("feature_set", "compact")),
                models={f: root / p for f, p in m["models"].items()},
                recipes={f: root / p for f, p in m["recipes"].items()},
            )
            for m in spec["members"]
        ]
        return cls(spec["task"], spec.get("class_names"), members, dict(spec["calibrator"]), spec["combiner"], spec)


#: Where ``final_model.json`` is below the results folder.
_FINAL_IN_RESULTS = PurePosixPath(layout.in_results(layout.FINAL_MODEL))
#: The end of a trial's OOF path (:data:`genoml_core.layout.TRIAL_OOF`) that names its learner and trial.
_OOF_TAIL = "/".join(PurePosixPath(layout.TRIAL_OOF).parts[-3:])


def final_model_document(
    selections: Sequence[Mapping[str, Any]],
    oof_paths: Sequence[str | Path],
    *,
    folds: Sequence[str],
    task: str,
    class_names: list[str] | None,
    seed: int,
    options: Mapping[str, Any],
    feature_sets: Mapping[str, str] | None = None,
    refit_full: bool = False,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """The ``final_model.json`` document from every learner's selection and the trials' OOF files.

    Args:
        selections: One ``select_learner`` record per learner (its best trial).
        oof_paths: Every trial's ``oof.tsv`` (``.../individual/train/<learner>/trial_<t>/oof.tsv``:
            the learner and trial are read from its parent folders); only the
            best trials' are read.
        folds: The fold names (each member has one model per fold).
        task, class_names, seed: As in the config.
        options: The config's ``final`` section (``stack``, ``calibrate``, ``max_rounds``).
        feature_sets: learner -> ``compact`` or ``genome`` (which munge store its models read).
        refit_full: score with each member's refit on every development person
            (``train/<learner>/refit/model_full.zip`` on the ``full`` stores) instead of the mean of
            its fold models; the fold models, whose OOF predictions chose the members, the
            weights and the calibrator, are listed under ``fold_models``.

    Returns:
        ``(document, oof)`` as :func:`select_final`, the document with class names and, per
        member, model and recipe paths relative to the results folder.
    """
    oofs, trials = {}, {}
    for sel in selections:
        # the trial's oof.tsv, wherever the inputs are: its path ends <learner>/trial_<t>/oof.tsv
        want = "/" + _OOF_TAIL.format(learner=sel["learner"], trial=int(sel["best_trial"]))
        found = [p for p in map(Path, oof_paths) if ("/" + p.as_posix()).endswith(want)]
        if not found:
            raise InputError(f"no oof.tsv for {sel['learner']} trial {sel['best_trial']} among the rule's inputs")
        oofs[sel["learner"]] = read_oof(found[-1])
        trials[sel["learner"]] = int(sel["best_trial"])
    n_classes = len(class_names) if class_names else None
    spec, oof = select_final(
        oofs, trials, task=task, n_classes=n_classes, seed=seed, stack=bool(options.get("stack", True)),
        calibrate=str(options.get("calibrate", "auto")), max_rounds=int(options.get("max_rounds", 25)),
    )
    sets = dict(feature_sets or {})
    for m in spec["members"]:
        fs = "genome" if sets.get(m["learner"], "compact") == "genome" else "compact"
        m["feature_set"] = sets.get(m["learner"], "compact")
        fold_models = {f: layout.in_results(layout.TRIAL_MODEL, learner=m["learner"], trial=m["trial"], fold=f)
                       for f in folds}
        if refit_full:
            m["models"] = {REFIT_FOLD: layout.in_results(layout.REFIT_MODEL, learner=m["learner"])}
            m["recipes"] = {REFIT_FOLD: layout.in_results(layout.store_file(fs, fold=REFIT_FOLD))}
            m["fold_models"] = fold_models
        else:
            m["models"] = fold_models
            m["recipes"] = {f: layout.in_results(layout.store_file(fs, fold=f)) for f in folds}
    spec["class_names"] = class_names
    spec["folds"] = [REFIT_FOLD] if refit_full else list(folds)
    spec["refit_full"] = bool(refit_full)
    spec["seed"] = seed
    from ... import __version__

    spec["genoml_core_version"] = __version__
    return spec, oof
