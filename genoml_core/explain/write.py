"""Writing one explanation: the importance table, top SNPs, truth recovery, per-person values and
plots, and the summary's common part."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .. import io
from ..errors import ConfigError
from .base import ExplainInputs, ExplainOptions, Explanation
from .plots import plot_bar, plot_beeswarm, plot_dependence
from .tables import importance_table, top_snps
from .truth import causal_snps_from_truth, truth_recovery

log = logging.getLogger("genoml_core.explain")  # the package's name, not __name__: warnings.json records it


def _write_explanation(
    exp: Explanation,
    inputs: ExplainInputs,
    *,
    recipe: Mapping[str, Any],
    X: np.ndarray,
    ids: pd.DataFrame,
    genotypes: np.ndarray,
    other: np.ndarray,
    train_ids: pd.DataFrame,
) -> dict[str, Any]:
    """Importance table, top SNPs, truth recovery, per-person values and plots of one explanation
    (rows ``ids``, features ``recipe["features"]``, SNPs first); returns the summary's common part
    (the caller adds what model was explained, then writes it)."""
    t0 = time.perf_counter()
    options, out = inputs.options, inputs.out
    importance = importance_table(exp, recipe, X)
    top = top_snps(importance, options.top_k)
    truth_result = None
    if inputs.truth is not None:
        truth_result = _truth(inputs.truth, inputs, recipe=recipe, top=top, train_ids=train_ids)
    t_truth = time.perf_counter()

    ids = ids.reset_index(drop=True)
    used = _write_values(exp, ids, out["values"])
    io.write_tsv(importance, out["importance"], float_format="%.6g")
    with io.atomic_path(out["top_snps"]) as tmp:
        tmp.write_text("".join(f"{s}\n" for s in top))
    sources = [f["source"] for f in recipe["features"]]
    plot_beeswarm(exp, X, out["beeswarm"], n_display=options.n_display)
    plot_bar(exp, sources, out["bar"], n_display=options.n_display)
    plot_dependence(exp, genotypes, other, recipe, out["dependence"], n_features=options.n_dependence)
    t_plots = time.perf_counter()
    seconds = {"truth": round(t_truth - t0, 3), "write_and_plots": round(t_plots - t_truth, 3)}
    return _summary(exp, importance, top, truth_result, options=options, recipe=recipe, n_explained=len(ids),
                    n_used=len(used), seconds=seconds, out=out)


def _truth(truth: str | Path, inputs: ExplainInputs, *, recipe: Mapping[str, Any], top: list[str],
           train_ids: pd.DataFrame) -> dict[str, Any]:
    """:func:`truth_recovery` of the top SNPs, r2 on the training samples ``train_ids``."""
    options, bfile, ld = inputs.options, inputs.bfile, inputs.ld
    if bfile is None or ld is None:
        raise ConfigError("explain: a truth file needs the genotypes (bfile) and the ld_prune settings")
    causal, source = causal_snps_from_truth(io.read_json(truth), inputs.phenotype)
    fam = io.read_fam(bfile)
    fam_pos = pd.Series(np.arange(len(fam)), index=fam.FID.astype(str) + "\t" + fam.IID.astype(str))
    sample_idx = fam_pos.loc[train_ids.FID.astype(str) + "\t" + train_ids.IID.astype(str)].to_numpy()
    snp_ids = [f["id"] for f in recipe["features"] if f["source"] == "snp"]
    min_r2 = float(options.truth_min_r2 if options.truth_min_r2 is not None else ld["r2"])
    result = truth_recovery(snp_ids, top, causal, bfile=bfile, sample_idx=sample_idx,
                            window=int(ld["window"]), min_r2=min_r2, engine=inputs.engine)
    result["truth_file"] = str(truth)
    result["causal_source"] = source
    log.info("truth: %d of %d causal SNPs found by the top %d SNPs (random ranking: %.2f expected)",
             result["found"], result["n_causal"], len(top), result["expected_random"])
    return result


def _write_values(exp: Explanation, ids: pd.DataFrame, path: str | Path) -> np.ndarray:
    """SHAP values, one row per explained sample (and output), to ``path``; features whose values are
    all zero (unused by every model) are left out: the importance table lists them with 0. Returns
    the columns written."""
    used = np.flatnonzero(np.any(exp.values != 0, axis=(0, 2)))
    frames = []
    for k, name in enumerate(exp.output_names):
        df = ids.copy()
        df.insert(2, "output", name)
        df["base_value"] = exp.base_values[:, k]
        df["model_output"] = exp.outputs[:, k]
        frames.append(pd.concat([df, pd.DataFrame(exp.values[:, used, k],
                                                  columns=[exp.feature_names[j] for j in used])], axis=1))
    io.write_tsv(pd.concat(frames, ignore_index=True), path, float_format="%.6g",
                 compression={"method": "gzip", "compresslevel": 1})
    return used


def _summary(exp: Explanation, importance: pd.DataFrame, top: list[str], truth_result: dict[str, Any] | None, *,
             options: ExplainOptions, recipe: Mapping[str, Any], n_explained: int, n_used: int,
             seconds: dict[str, float], out: Mapping[str, str | Path]) -> dict[str, Any]:
    """The summary's common part, in the order summary.json lists it."""
    import shap

    shown = importance.head(options.n_display)
    return {
        "method": exp.method,
        "explainer": exp.explainer,
        "requested_method": options.method,
        "output_space": exp.output_space,
        "outputs": exp.output_names,
        "explain_set": options.explain_set,
        "n_explained": int(n_explained),
        "details": exp.details,
        "base_value": [float(b) for b in exp.base_values.mean(axis=0)],
        "additivity": {
            "max_abs_error": exp.additivity_error(),
            "mean_abs_output_minus_base": float(np.mean(np.abs(exp.outputs - exp.base_values))),
            "exact_by_construction": exp.exact,
        },
        "n_features": int(exp.values.shape[1]),
        "n_snp_features": int(recipe["n_snps"]),
        "n_nonzero": int((importance.mean_abs_shap > 0).sum()),
        "n_features_in_values_file": int(n_used),
        "top_k": options.top_k,
        "top_snps": top,
        "top_features": io.to_plain(
            shown[["rank", "feature", "source", "mean_abs_shap"]
                  + (["direction"] if "direction" in shown else [])].to_dict("records")
        ),
        "truth": truth_result,
        "options": asdict(options),
        "seconds": seconds,
        "shap_version": shap.__version__,
        "files": {k: str(v) for k, v in out.items()},
    }
