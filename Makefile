# Two commands do all set-up on a fresh Debian/Ubuntu machine with Python 3.11:
#   make example   install everything, then run the whole workflow on the bundled example cohort
#   make test      install everything, then run the test suite (CI runs exactly this)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
CORES ?= all
BIN := $(VENV)/bin
STAMP := $(VENV)/.genoml-installed

.PHONY: setup example test lint plink2 slurm-profile clean-results

# plink2 from Debian's package when it is missing (needs root or sudo)
plink2:
	@if ! command -v plink2 >/dev/null 2>&1; then \
	  echo "installing Debian's plink2 package"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq plink2; \
	fi
	@plink2 --version

# The virtual environment. torch==2.13.0 (CPU build) first, so nothing pulls CUDA wheels; the
# project's own requirement is a loose range, so GPU clusters keep their CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test,slurm]'
	# adelie (the genome-wide penalized GLM's solver) declares numpy<2 in its metadata but works
	# with numpy 2 (tested): installed on its own, without its declared dependencies; it imports
	# IPython (adelie.diagnostic), which is installed first
	$(BIN)/pip install -q 'ipython>=8.17,<9'
	$(BIN)/pip install -q --no-deps 'adelie>=1.1.52,<1.2'
	touch $(STAMP)

setup: plink2 $(STAMP)

resources/example/cohort.bed: | setup
	$(BIN)/genoml-simulate --out resources/example --seed 42

example: setup resources/example/cohort.bed
	$(BIN)/snakemake --cores $(CORES)
	@echo
	@echo "Done. Results:"
	@echo "  leaderboard:        results/leaderboard.tsv"
	@echo "  test evaluation:    results/evaluate/metrics.json"
	@echo "  plots:              results/evaluate/*.png"
	@echo "  report (HTML):      results/report.html"
	@echo "  SHAP explanations:  results/explain/ (importance.tsv, top_features.snplist, plots)"
	@echo "  new-cohort scores:  results/predict/example_new/ (metrics, harmonize report)"
	@echo "  QC summary:         results/qc/summary.json"
	@echo "  truth of the example cohort: resources/example/truth.json"
	@echo "  per-person data (predictions, SHAP values, OOF scores; NOT for sharing): results/individual/"

# The lint gate, first in `make test`: ruff (pyflakes + pycodestyle, pyproject.toml) over the Python,
# snakefmt over the Snakefile and the rule files, mypy over genoml_core ([tool.mypy] in pyproject.toml),
# and the examples in genoml_core's docstrings run as doctests (~10 s; doctest_optionflags in
# pyproject.toml).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check Snakefile workflow/
	$(BIN)/mypy
	$(BIN)/python -m pytest --doctest-modules genoml_core -q -p no:cacheprovider

# The suite on two pytest-xdist workers (a 2-core CI box; the workflow tests' jobs mostly wait on
# process starts and single-threaded code). --dist loadgroup: tests that read one module-scoped
# workflow run share a worker (tests/conftest.py marks them), every other test goes wherever a worker
# is free; --no-loadscope-reorder keeps the order tests/conftest.py gives (long workflow tests first).
PYTEST_WORKERS ?= 2
test: setup lint
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadgroup --no-loadscope-reorder

# install profiles/slurm as ~/.config/snakemake/slurm so `snakemake --profile slurm` works verbatim
slurm-profile:
	bash profiles/install_slurm_profile.sh

clean-results:
	rm -rf results logs benchmarks .snakemake
