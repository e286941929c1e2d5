"""Munging: genotypes into a compact int8 feature store, covariates/omics beside them, and the
recipe (``recipe.json``) that records every feature with its training statistics.

The store keeps genotypes as int8 A1 counts (-1 missing) from the .bed to the batch: scaling and
imputation are applied per batch from the recipe (``FeatureStore.rows``), so memory holds one
int8 copy, never a float64 frame of all SNPs. Every statistic is computed on the fold's
training samples only.

One module per concern: :mod:`~genoml_core.store.recipe` (the recipe's version and file names,
:class:`RecipeScaling`, :func:`scale_features`, :func:`pca_weights_path`),
:mod:`~genoml_core.store.write` (writing the store: :func:`build_feature_store`) and
:mod:`~genoml_core.store.reader` (reading it: :class:`FeatureStore`, :class:`StoreView`). Every
name below is importable from :mod:`genoml_core.store` itself (``genoml_core.munge`` before the
stages were grouped); the logger is ``genoml_core.store``.
"""

from __future__ import annotations

from .reader import FeatureStore, StoreView
from .recipe import GENO_FILE as GENO_FILE
from .recipe import OTHER_FILE as OTHER_FILE
from .recipe import RECIPE_FILE as RECIPE_FILE
from .recipe import RECIPE_VERSION, RecipeScaling, scale_features
from .recipe import SAMPLES_FILE as SAMPLES_FILE
from .recipe import pca_weights_path as pca_weights_path
from .write import build_feature_store
from .write import log as log

__all__ = ["build_feature_store", "FeatureStore", "StoreView", "RecipeScaling", "scale_features", "RECIPE_VERSION"]
