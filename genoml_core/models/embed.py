"""Unsupervised embeddings: Res-VAE (searched like the other nets) against PCA and t-SNE.

The Res-VAE and PCA are fitted on the training rows of the feature store (fold0) and applied to
every row; t-SNE cannot embed new points, so it runs once on all rows (it sees no labels). Each
method is scored on the held-out rows (validation + test) by the Davies-Bouldin index of the
latent space against the phenotype's classes (for a quantitative trait: its tertiles) (lower =
better separated), and, where a method can reconstruct, by the reconstruction mean squared error.

NOTE: for t-SNE the held-out rows are part of the fit, so its ``davies_bouldin_heldout`` is not an
out-of-sample score and is not directly comparable with the Res-VAE's and PCA's: the summary
says so per method (``heldout_rows_in_fit``) and in ``davies_bouldin_note``.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path, PurePosixPath
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .. import __version__, io, layout
from . import persist
from ..tuning import search
from ..store import FeatureStore

__all__ = ["EMBED_METHODS", "TSNE_NOTE", "run_vae_trial", "select_vae", "compare_embeddings"]

log = logging.getLogger(__name__)

EMBED_METHODS = ("res_vae", "pca", "tsne")

#: Why t-SNE's held-out Davies-Bouldin index is not out of sample (``davies_bouldin_note``).
TSNE_NOTE = (
    "t-SNE cannot embed new points, so it is fitted on all rows, including the held-out rows it is "
    "scored on (without their labels): its held-out Davies-Bouldin index is not an out-of-sample "
    "score and is not directly comparable with those of the Res-VAE and PCA, which are fitted on "
    "the training rows only."
)


def run_vae_trial(
    store_dir: str | Path,
    *,
    trial: int,
    space: Mapping[str, Any],
    seed: int,
    threads: int,
    model_path: str | Path,
) -> dict[str, Any]:
    """Fit one Res-VAE trial on the training rows; early-stop and score on the validation rows.

    Returns:
        The trial record (``metrics.json``): ``valid_loss`` is the validation loss (total:
        reconstruction + beta x KL) of the kept epoch, a loss (lower is better), so
        :func:`select_vae` takes its minimum; ``valid_recon_mse`` the validation
        reconstruction mean squared error; ``best_epoch``, ``params``, ``random_state``.
    """
    from .estimators import ResVAEEmbedder
    from ..tuning.tune import trial_random_state

    params = search.sample_params(dict(space), seed=seed, arch="res_vae", trial=trial)
    rs = trial_random_state(seed, "res_vae", trial)
    store = FeatureStore(store_dir)
    t0 = time.perf_counter()
    emb = ResVAEEmbedder(params, random_state=rs, n_threads=threads)
    emb.fit(store.view("train"), X_valid=store.view("valid"))
    seconds = time.perf_counter() - t0
    Xv = store.rows(store.index("valid"))
    mse = float(np.mean((emb.reconstruct(Xv) - Xv) ** 2))
    persist.save_model(
        emb, model_path,
        meta={"learner": "res_vae", "trial": trial, "params": params, "random_state": rs, "seed": seed,
              "genoml_core_version": __version__, "n_features": store.n_features},
    )
    # early stopping maximises its score, the negated validation loss ("neg_valid_loss"): store
    # the loss itself, so that lower is better in the record, as its name says
    if emb.metric_ != "neg_valid_loss":
        raise RuntimeError(f"Res-VAE early stopping reported metric {emb.metric_!r}, expected 'neg_valid_loss'")
    valid_loss = -float(emb.best_score_)
    log.info("res_vae trial %d: valid loss %.4f, valid reconstruction MSE %.4f", trial, valid_loss, mse)
    return {"learner": "res_vae", "trial": trial, "params": params, "random_state": rs,
            "valid_loss": valid_loss, "valid_recon_mse": mse, "best_epoch": int(emb.best_epoch_),
            "seconds": seconds}


def select_vae(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The trial with the lowest validation loss (ties: lower trial index).

    ``records`` are :func:`run_vae_trial` records; a non-finite loss (a diverged trial) ranks
    last.

    Raises:
        ValueError: when ``records`` is empty, or holds a negative loss (a record from
            genoml_core 0.2.0 or earlier, which stored the negated loss).
    """
    if not records:
        raise ValueError("no Res-VAE trial records to select from")
    negative = [int(r["trial"]) for r in records if float(r["valid_loss"]) < 0]
    if negative:
        # squared error + beta x KL is never negative: these records hold the negated loss
        raise ValueError(
            f"Res-VAE trial(s) {negative} have a negative valid_loss: their metrics.json was written by an older "
            "genoml_core that stored the negated loss; rerun them (snakemake -R embed_vae)"
        )

    def key(r: dict[str, Any]) -> tuple[float, int]:
        loss = float(r["valid_loss"])
        return (loss if math.isfinite(loss) else math.inf, int(r["trial"]))

    return min(records, key=key)


def _cluster_labels(store: FeatureStore, idx: np.ndarray) -> np.ndarray:
    y = store.labels(idx)
    if store.task != "continuous":
        return y.astype(int)
    return np.searchsorted(np.quantile(y, [1 / 3, 2 / 3]), y)  # tertiles of the trait


def _davies_bouldin(z: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import davies_bouldin_score

    if len(np.unique(labels)) < 2:
        return float("nan")
    return float(davies_bouldin_score(z, labels))


def _file_name(pattern: str, method: str) -> str:
    """A method's file name in its folder, as the layout names it (``{method}_scatter.png``, ...)."""
    return PurePosixPath(pattern).name.format(method=method)


def _scatter(z2: np.ndarray, labels: np.ndarray, names: list[str], title: str, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 4.5), dpi=110)
    ax = fig.subplots()
    for k in np.unique(labels):
        m = labels == k
        ax.scatter(z2[m, 0], z2[m, 1], s=6, alpha=0.6, label=names[int(k)] if int(k) < len(names) else str(k))
    ax.set_title(title)
    ax.set_xlabel("dimension 1")
    ax.set_ylabel("dimension 2")
    ax.legend(markerscale=3, fontsize=8, frameon=False)
    fig.tight_layout()
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


def _two_d(z: np.ndarray, seed: int) -> np.ndarray:
    if z.shape[1] <= 2:
        return z if z.shape[1] == 2 else np.column_stack([z[:, 0], np.zeros(len(z))])
    from sklearn.decomposition import PCA

    return PCA(2, random_state=seed).fit_transform(z)


def _fit_methods(
    X: np.ndarray, tr: np.ndarray, emb: Any, meta: dict[str, Any], *, seed: int, tsne_perplexity: float, threads: int
) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Each method's latent matrix of every row (and reconstruction: res_vae, pca) with its timing;
    PCA and t-SNE's PCA summary are fitted on the training rows ``tr``."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    d = int(emb.module_kwargs_["d_latent"])
    results: dict[str, Any] = {}
    latents: dict[str, np.ndarray] = {}
    recon: dict[str, np.ndarray] = {}
    t0 = time.perf_counter()
    latents["res_vae"] = emb.transform(X)
    recon["res_vae"] = emb.reconstruct(X)
    results["res_vae"] = {"seconds": time.perf_counter() - t0, "trial": meta.get("trial")}
    t0 = time.perf_counter()
    n_pc = min(d, X.shape[1], len(tr))
    pca = PCA(n_pc, random_state=seed).fit(X[tr])
    latents["pca"] = pca.transform(X)
    recon["pca"] = pca.inverse_transform(latents["pca"])
    results["pca"] = {"seconds": time.perf_counter() - t0,
                      "explained_variance": float(pca.explained_variance_ratio_.sum())}
    t0 = time.perf_counter()
    # t-SNE on a 50-PC summary (the usual practice; fast and less noisy); PCA fitted on training rows
    pre = PCA(min(50, X.shape[1], len(tr)), random_state=seed).fit(X[tr]).transform(X)
    perplexity = min(tsne_perplexity, (len(X) - 1) / 3)
    latents["tsne"] = TSNE(2, perplexity=perplexity, init="pca", random_state=seed, n_jobs=threads).fit_transform(pre)
    results["tsne"] = {"seconds": time.perf_counter() - t0, "perplexity": perplexity}
    return results, latents, recon


def compare_embeddings(
    store_dir: str | Path,
    vae_model: str | Path,
    out_dir: str | Path,
    *,
    seed: int,
    tsne_perplexity: float,
    threads: int = 1,
    individual_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Latent matrices, reconstructions, Davies-Bouldin scores and scatter plots for every method.

    Writes ``{method}_scatter.png`` to ``out_dir`` and the per-person files to ``individual_dir``
    (``out_dir`` when not given; the workflow's is ``results/individual/embed/``, not for sharing):
    ``{method}_latent.tsv`` (FID IID role z1..zk) and ``{method}_reconstruction.npy`` (res_vae and
    pca: float32, rows as the latent file). Returns the summary (aggregates only, no sample ids).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    person = Path(individual_dir) if individual_dir is not None else out
    person.mkdir(parents=True, exist_ok=True)
    store = FeatureStore(store_dir)
    rows = np.arange(len(store.samples))
    tr = store.index("train")
    held = np.flatnonzero(store.samples.role.isin(["valid", "test"]).to_numpy())
    X = store.rows(rows)
    labels = _cluster_labels(store, rows)
    names = store.recipe["class_names"] or ["lower third", "middle third", "upper third"]
    emb, meta = persist.load_model(vae_model)
    results, latents, recon = _fit_methods(
        X, tr, emb, meta, seed=seed, tsne_perplexity=tsne_perplexity, threads=threads
    )
    # t-SNE is transductive: the held-out rows it is scored on are part of its fit (no labels)
    in_fit = {"res_vae": False, "pca": False, "tsne": True}

    ids = store.samples[["FID", "IID", "role"]].reset_index(drop=True)
    for method in EMBED_METHODS:
        z = latents[method]
        entry = results[method]
        entry["d_latent"] = int(z.shape[1])
        entry["heldout_rows_in_fit"] = in_fit[method]
        entry["davies_bouldin_heldout"] = _davies_bouldin(z[held], labels[held])
        if method in recon:
            entry["recon_mse_heldout"] = float(np.mean((recon[method][held] - X[held]) ** 2))
            with io.atomic_path(person / _file_name(layout.EMBED_RECONSTRUCTION, method)) as tmp, open(tmp, "wb") as fh:
                np.save(fh, recon[method].astype(np.float32))
        table = pd.concat([ids, pd.DataFrame(z, columns=[f"z{k + 1}" for k in range(z.shape[1])])], axis=1)
        io.write_tsv(table, person / _file_name(layout.EMBED_LATENT, method), float_format="%.6g")
        scored = "held-out rows, in the fit" if in_fit[method] else "held-out"
        title = f"{method}: Davies-Bouldin ({scored}) {entry['davies_bouldin_heldout']:.2f}"
        _scatter(_two_d(z, seed), labels, names, title, out / _file_name(layout.EMBED_PLOT, method))
    summary = {
        "fitted_on": "training rows of fold0 (t-SNE: all rows, the held-out rows included; no labels)",
        "scored_on": f"{len(held)} held-out rows (validation + test)",
        "davies_bouldin_note": TSNE_NOTE,
        "cluster_labels": "phenotype classes" if store.task != "continuous" else "tertiles of the trait",
        "methods": results,
    }
    return summary
