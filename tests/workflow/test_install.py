"""A non-editable install of genoml_core works on its own: the config schema ships inside the
package, so a config is validated (defaults filled, mistakes explained) with no checkout around."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

from tests.conftest import REPO


def test_a_non_editable_install_validates_configs_without_the_checkout(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "genoml_core", src / "genoml_core", ignore=shutil.ignore_patterns("__pycache__"))
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
           "--target", str(site), str(src)]  # fmt: skip
    proc = subprocess.run(pip, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert (site / "genoml_core" / "config.schema.yaml").is_file()
    assert (site / "genoml_core" / "report" / "template.html").is_file()  # the report page: package data too
    shutil.rmtree(src)  # nothing of the sources is left to fall back on

    (tmp_path / "config.yaml").write_text("task: binary\ndata: {genotypes: g, phenotype: p.tsv, phenotype_column: y}\nqc: {mnd: 0.1}\n")
    check = textwrap.dedent(f"""
        import genoml_core, genoml_core.config as c
        assert genoml_core.__file__.startswith({str(site)!r}), genoml_core.__file__
        cfg = c.validate_config({{"task": "binary", "data": {{"genotypes": "g", "phenotype": "p.tsv", "phenotype_column": "y"}}}})
        print("maf", cfg["qc"]["maf"], "folds", cfg["split"]["n_folds"])
        try:
            c.load_config("config.yaml")
        except Exception as err:
            print(type(err).__name__, err)
    """)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(site)}
    out = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-4000:]
    assert "maf 0.01 folds 5" in out.stdout  # the schema's defaults, read from the installed copy
    assert "mnd" in out.stdout and "mind" in out.stdout  # the misspelt key is named, with the fix
