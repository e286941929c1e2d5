"""Real expression datasets that ship inside PyPI wheels, exported as matrix-mode inputs.

Nothing is downloaded and nothing is copied into the repository: the data are read from the
installed packages (scanpy, scikit-survival) and written where the caller asks, as a feature
matrix (IID + one column per gene) and a label table (IID + label), ready for a matrix-only
run (``data.genotypes: null``, ``data.omics: <matrix>``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from . import io

__all__ = ["export_pbmc68k", "export_gse7390"]

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
