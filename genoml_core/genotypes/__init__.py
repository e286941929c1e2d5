"""Genotypes before any model: formats, PLINK 2 QC, relatives, the split, ancestry PCs, harmonizing.

- :mod:`.formats`: PLINK 1, PLINK 2, VCF/BCF and BGEN inputs, converted to one PLINK 1 fileset.
- :mod:`.plink`: PLINK 2 steps: sample and variant QC, LD pruning, association filtering.
- :mod:`.relatedness`: KING kinship and the family groups the split keeps together.
- :mod:`.split`: the held-out test set and the K family-aware folds, by sample id.
- :mod:`.pca`: ancestry PCs fitted on a fold's training people and projected for everyone.
- :mod:`.harmonize`: a new cohort's genotypes (and covariates, omics) matched to a training recipe.

Import the modules themselves (``from genoml_core.genotypes import plink``); this package
re-exports nothing.
"""
