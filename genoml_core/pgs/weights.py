"""The allele weights of the score: one model's (:func:`model_allele_weights`) and the final model's
linear members combined with their stack weights (:class:`LinearScore`, :func:`final_linear_score`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .. import io
from ..models import persist, registry
from ..evaluation.ensemble import FinalModel, Member
from ..errors import InputError


# the package's name, not __name__: warnings.json records logger names
log = logging.getLogger("genoml_core.pgs")


# ----------------------------------------------------------------------------- one model
def _class_labels(est: Any) -> np.ndarray | None:
    classes = getattr(est, "genoml_classes_", None)
    if classes is None:
        classes = getattr(est, "classes_", None)
    return None if classes is None else np.asarray(classes)


def model_allele_weights(est: Any, recipe: Mapping[str, Any], *, task: str, n_classes: int | None = None
                         ) -> np.ndarray | None:
    """Per-allele SNP weights of one fitted model: ``(n_snps, m)``, or None when it is not linear.

    Args:
        est: A fitted model on the recipe's scaled features (as :func:`genoml_core.models.persist.load_model`
            returns it), or a :class:`~genoml_core.models.penalized.GenomeWideGLM` itself (its
            ``allele_weights_`` are already per counted allele).
        recipe: The model's ``recipe.json`` (its first ``n_snps`` features are the SNPs).
        task: ``binary``, ``multiclass`` or ``continuous``.
        n_classes: K (multiclass): the columns, class labels 0..K-1.

    Returns:
        float64 ``(n_snps, m)``: per copy of each SNP's counted allele, raw dosage scale; m = 1
        (binary: log-odds of class 1; continuous: the phenotype's units) or K (each class's linear
        predictor; 0 for a class the model never saw).
    """
    from ..explain.families import linear_parts

    n_snps = int(recipe["n_snps"])
    feats = recipe["features"]
    if hasattr(est, "allele_weights_"):
        w = np.asarray(est.allele_weights_, dtype=np.float64).reshape(n_snps, -1)
    else:
        parts = linear_parts(est)
        if parts is None:
            return None
        coef = np.atleast_2d(np.asarray(parts[0], dtype=np.float64))
        if coef.shape[1] != len(feats):
            raise InputError(f"the model has {coef.shape[1]} coefficients per output, its recipe lists "
                             f"{len(feats)} features: model and recipe do not belong together")
        scale = np.array([f["scale"] for f in feats[:n_snps]], dtype=np.float64)
        w = (coef[:, :n_snps] / scale).T
    if task != "multiclass":
        if w.shape[1] != 1:
            raise InputError(f"a {task} model with {w.shape[1]} linear outputs; expected 1")
        return w
    classes = _class_labels(est)
    if classes is None or len(classes) != w.shape[1]:
        raise InputError(f"a multiclass model with {w.shape[1]} linear outputs and classes {classes}")
    k = int(n_classes) if n_classes is not None else int(classes.max()) + 1
    out = np.zeros((n_snps, k))
    out[:, classes.astype(np.int64)] = w
    return out


# ----------------------------------------------------------------------------- the final model
@dataclass
class LinearScore:
    """The final model's linear SNP part.

    ``weights`` has the SNP columns (``id chrom pos counted other``, ``mean``: the training mean
    of the counted allele's copies) and one weight column ``w<i>`` per output (``outputs``); all-zero
    rows are kept (each file drops its own zeros). ``used`` and
    ``left_out`` describe the members: ``{learner, weight, ...}`` with ``combined_weight`` (used)
    or ``why`` (left out). ``weights`` is None, with ``reason``, when there is no linear SNP part.
    """

    task: str
    outputs: list[str]
    weights: pd.DataFrame | None
    used: list[dict[str, Any]] = field(default_factory=list)
    left_out: list[dict[str, Any]] = field(default_factory=list)
    reason: str | None = None


def _is_candidate(learner: str) -> bool:
    """Only learners the registry declares linear are loaded (never a net or a tree model file);
    an unknown name is loaded and checked."""
    spec = registry.REGISTRY.get(learner)
    return spec is None or spec.explainer == "linear"


def _snp_table(recipe: Mapping[str, Any]) -> pd.DataFrame:
    snps = recipe["features"][: int(recipe["n_snps"])]
    table = pd.DataFrame({k: [str(f[k]) for f in snps] for k in ("id", "chrom", "counted", "other")})
    table["pos"] = np.array([int(f["pos"]) for f in snps], dtype=np.int64)
    # what a missing call becomes (the training mean of the counted allele's copies)
    table["mean"] = np.array([float(f.get("impute", f["mean"])) for f in snps], dtype=np.float64)
    return table


def _member_frames(member: Member, task: str, n_classes: int | None) -> tuple[list[pd.DataFrame], str | None]:
    """One frame per fold model (SNP columns + weights), or ``([], why)``."""
    if not _is_candidate(member.learner):
        return [], f"not a linear model ({registry.REGISTRY[member.learner].explainer} explainer)"
    frames = []
    for fold, path in member.models.items():
        est, _ = persist.load_model(path)
        recipe = io.read_json(member.recipes[fold])
        w = model_allele_weights(est, recipe, task=task, n_classes=n_classes)
        if w is None:
            return [], f"its fitted model ({type(est).__name__}) is not linear in its features"
        table = _snp_table(recipe)
        frames.append(pd.concat([table, pd.DataFrame(w, columns=[f"w{i}" for i in range(w.shape[1])])], axis=1))
    if not frames or sum(len(f) for f in frames) == 0:
        return [], "no SNP features (a run without genotypes)"
    if not any(f.filter(regex=r"^w\d+$").to_numpy().any() for f in frames):
        return [], "every SNP weight is 0"
    return frames, None


def _align_and_sum(frames: Sequence[pd.DataFrame], factors: Sequence[float]) -> pd.DataFrame:
    """``sum_i factor_i * frame_i`` per SNP id, on the first frame's counted allele (a SNP counted on
    its other allele elsewhere gets its weight negated: ``2 - g`` copies, a constant apart); ``mean``
    becomes the factor-weighted mean of the training means (the same everywhere with one training set)."""
    wcols = [c for c in frames[0].columns if c.startswith("w")]
    df = pd.concat([f.assign(_f=a) for f, a in zip(frames, factors)], ignore_index=True)
    canon = df.drop_duplicates("id").set_index("id")[["chrom", "pos", "counted", "other"]]
    ref = canon.loc[df["id"]]
    same = (df.counted.to_numpy() == ref.counted.to_numpy()) & (df.other.to_numpy() == ref.other.to_numpy())
    swapped = (df.counted.to_numpy() == ref.other.to_numpy()) & (df.other.to_numpy() == ref.counted.to_numpy())
    bad = ~(same | swapped)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"SNP {df.id.iloc[i]} has alleles {df.counted.iloc[i]}/{df.other.iloc[i]} in one recipe and "
                         f"{ref.counted.iloc[i]}/{ref.other.iloc[i]} in another: recipes of different genotype files")
    factor = df["_f"].to_numpy()
    sign = np.where(same, 1.0, -1.0)
    parts = pd.DataFrame(df[wcols].to_numpy() * (sign * factor)[:, None], columns=wcols)
    parts["_fm"] = factor * np.where(same, df["mean"].to_numpy(), 2.0 - df["mean"].to_numpy())
    parts["_f"] = factor
    summed = parts.groupby(df["id"].to_numpy(), sort=False).sum()
    summed["mean"] = summed["_fm"] / summed["_f"]
    return canon.join(summed[[*wcols, "mean"]]).reset_index()


def final_linear_score(final: FinalModel) -> LinearScore:
    """The final model's linear SNP part: per-allele weights, the members combined (module docstring)."""
    task = final.task
    n_classes = len(final.class_names) if task == "multiclass" and final.class_names else None
    if task == "multiclass":
        outputs = list(final.class_names or [])
    elif task == "binary":
        names = final.class_names or ["0", "1"]
        outputs = [f"log-odds of {names[1]} vs {names[0]}"]
    else:
        outputs = ["trait value"]
    total = sum(m.weight for m in final.members)
    linear: list[tuple[Member, list[pd.DataFrame]]] = []
    left_out = []
    for m in final.members:
        frames, why = _member_frames(m, task, n_classes)
        if why is not None:
            log.info("score file: %s (stack weight %.3f) left out: %s", m.learner, m.weight, why)
            left_out.append({"learner": m.learner, "weight": m.weight, "why": why})
        elif m.weight <= 0:
            left_out.append({"learner": m.learner, "weight": m.weight, "why": "stack weight 0"})
        else:
            linear.append((m, frames))
    if not linear:
        reasons = "; ".join(f"{d['learner']}: {d['why']}" for d in left_out) or "no members"
        return LinearScore(task, outputs, None, [], left_out,
                           reason=f"the final model has no linear part over SNPs ({reasons})")
    lin_total = sum(m.weight for m, _ in linear)
    frames, factors, used = [], [], []
    for m, fs in linear:
        share = m.weight / lin_total
        frames += fs
        factors += [share / len(fs)] * len(fs)
        used.append({"learner": m.learner, "trial": m.trial, "weight": m.weight, "combined_weight": share,
                     "stack_share": m.weight / total if total > 0 else 0.0, "models": sorted(m.models)})
    weights = _align_and_sum(frames, factors)
    return LinearScore(task, outputs, weights, used, left_out)
