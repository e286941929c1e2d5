"""Reading and writing PLINK 1 binary filesets and small tables, with early, specific checks.

Genotype convention used everywhere in genoml_core: an ``int8`` matrix of shape
(n_samples, n_variants) holding the number of copies of the ``.bim`` A1 allele (column 5):
0, 1 or 2, and -1 for a missing call.

One module per concern: :mod:`~genoml_core.io.files` (atomic output, JSON and TSV),
:mod:`~genoml_core.io.plink_text` (the ``.fam`` and ``.bim``) and :mod:`~genoml_core.io.bed` (the
``.bed``: checks, encoding and writing, decoding and reading). Every public name is importable from
:mod:`genoml_core.io` itself.
"""

from __future__ import annotations

import logging

from .bed import BED_MAGIC, BedWriter, check_bed, iter_genotype_chunks, pread_records, read_genotypes, write_bed
from .files import StagedOutputs, atomic_path, json_default, plain_scalar, read_json, to_plain, write_json, write_tsv
from .files import write_json_records as write_json_records
from .plink_text import BIM_COLUMNS, FAM_COLUMNS, read_bim, read_fam

__all__ = [
    "BED_MAGIC",
    "FAM_COLUMNS",
    "BIM_COLUMNS",
    "read_fam",
    "read_bim",
    "check_bed",
    "BedWriter",
    "write_bed",
    "read_genotypes",
    "iter_genotype_chunks",
    "atomic_path",
    "StagedOutputs",
    "pread_records",
    "write_json",
    "read_json",
    "json_default",
    "to_plain",
    "plain_scalar",
    "write_tsv",
]

# the package's logger name, not __name__ (warnings.json records it)
log = logging.getLogger("genoml_core.io")
