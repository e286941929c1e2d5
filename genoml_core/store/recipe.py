"""The recipe (``recipe.json``): its version, the store's file names, the PCA weights it names, and the
per-feature scaling and imputation applied to every row (:class:`RecipeScaling`, :func:`scale_features`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import layout


RECIPE_VERSION = 1
# the store's file names (its folder: layout.store_file)
GENO_FILE = layout.STORE_FILE_NAMES["genotypes"]
OTHER_FILE = layout.STORE_FILE_NAMES["other"]
SAMPLES_FILE = layout.STORE_FILE_NAMES["samples"]
RECIPE_FILE = layout.STORE_FILE_NAMES["recipe"]


def pca_weights_path(recipe: dict[str, Any], recipe_path: str | Path) -> Path | None:
    """The PCA weights a recipe needs (``None`` without ancestry PCs), resolved beside the recipe."""
    entry = recipe.get("pca")
    if not entry:
        return None
    return (Path(recipe_path).parent / entry["weights"]).resolve()


class RecipeScaling:
    """The recipe's per-feature scaling and imputation, as arrays: one code path for the feature
    store (training rows) and for harmonized new cohorts (:mod:`genoml_core.genotypes.harmonize`).

    ``apply(g, other)`` maps raw int8 A1 counts (-1 missing) and raw other values (NaN missing)
    to float32 ``(x - mean) / scale``; a missing value takes the recipe's ``impute`` value, i.e.
    ``(impute - mean) / scale`` after scaling (exactly 0, since ``impute`` is the training mean).
    """

    def __init__(self, features: Sequence[dict[str, Any]], n_snps: int) -> None:
        def arr(key: str, part: Sequence[dict[str, Any]]) -> np.ndarray:
            return np.array([f[key] for f in part], dtype=np.float32)

        snps, others = features[:n_snps], features[n_snps:]
        self.g_mean, self.g_scale = arr("mean", snps), arr("scale", snps)
        self.o_mean, self.o_scale = arr("mean", others), arr("scale", others)
        self.g_fill = (arr("impute", snps) - self.g_mean) / self.g_scale
        self.o_fill = (arr("impute", others) - self.o_mean) / self.o_scale

    @classmethod
    def from_recipe(cls, recipe: dict[str, Any]) -> "RecipeScaling":
        return cls(recipe["features"], int(recipe["n_snps"]))

    def apply(self, g: np.ndarray, other: np.ndarray) -> np.ndarray:
        """float32 (n, p_snps + p_other): scaled features, missing values imputed."""
        if g.shape[1] != self.g_mean.size or other.shape[1] != self.o_mean.size:
            raise ValueError(
                f"blocks of {g.shape[1]} genotype and {other.shape[1]} other columns do not match the recipe's "
                f"{self.g_mean.size} SNPs and {self.o_mean.size} other features"
            )
        x = np.empty((g.shape[0], g.shape[1] + other.shape[1]), dtype=np.float32)
        xg = x[:, : g.shape[1]]
        np.subtract(g, self.g_mean, out=xg, dtype=np.float32)
        xg /= self.g_scale
        np.copyto(xg, self.g_fill, where=g < 0)
        if other.shape[1]:
            xo = (other.astype(np.float32) - self.o_mean) / self.o_scale
            xo = np.where(np.isnan(xo), self.o_fill, xo)
            x[:, g.shape[1] :] = np.nan_to_num(xo, nan=0.0)
        return x


def scale_features(recipe: dict[str, Any], g: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Scale and impute raw features with ``recipe`` (see :class:`RecipeScaling`).

    Args:
        recipe: A parsed ``recipe.json``.
        g: int8 (n, n_snps) A1 counts in recipe order, -1 missing.
        other: (n, n_other) raw covariate/omics values in recipe order, NaN missing.

    Returns:
        float32 (n, n_features), the rows a model of this recipe takes.
    """
    return RecipeScaling.from_recipe(recipe).apply(g, other)
