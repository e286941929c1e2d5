"""genoml_core: the science behind genoml-workflow.

Everything a Snakemake rule does lives here, importable and testable without Snakemake.
From a notebook: ``import genoml_core as gm; run = gm.run("config.yaml", workdir="analysis")``
(:mod:`genoml_core.api`).
Bump ``__version__`` on any change in behaviour: every rule carries it in its params, so
affected jobs rerun.
"""

__version__ = "0.4.0"

__all__ = ["__version__", "run", "open_run", "Run"]


def __getattr__(name: str):  # the API on first use: ``import genoml_core`` stays light for the Snakefile
    if name in ("run", "open_run", "Run"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'genoml_core' has no attribute {name!r}")
