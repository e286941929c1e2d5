"""genoml_core: the science behind genoml-workflow.

Everything a Snakemake rule does lives here, importable and testable without Snakemake.
Bump ``__version__`` on any change in behaviour: every rule carries it in its params, so
affected jobs rerun.
"""

__version__ = "0.3.0"

__all__ = ["__version__"]
