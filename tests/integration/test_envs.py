"""envs/*.yaml: the conda environments per rule group, for clusters that run `--sdm conda`.

They cannot be built here (no conda channels), so these tests keep them in step with what can be
checked: the packages and version ranges of pyproject.toml (which CI installs and tests), and the
third-party modules each rule's script imports, for the env its `conda:` directive names.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import REPO, write_config

ENVS = {name: REPO / "envs" / f"{name}.yaml" for name in ("plink", "classical", "torch")}
# conda-forge names that differ from the PyPI names in pyproject.toml
CONDA_TO_PYPI = {"pytorch": "torch", "matplotlib-base": "matplotlib", "py-xgboost": "xgboost"}
# tools that are not Python packages: name -> the oldest version the workflow is tested with
TOOLS = {"plink2": "2.00a3.5", "pip": "23"}
# pyproject dependencies no job environment needs: Snakemake drives the jobs from its own
# environment (a conda job runs only the rule's script in the env)
DRIVER_ONLY = {"snakemake"}
# imports made inside functions (the module-level walk below does not see them), per rule
LAZY_IMPORTS = {
    "munge": {"pandas_plink"},  # genoml_core.io reads .bed files through pandas-plink
    "train_classical": {"skops", "xgboost"},  # model files (genoml_core.models.persist)
    "train_net": {"torch", "skops", "tabm"},  # tabm: the TabM net, built when listed
    "refit_classical": {"skops", "xgboost"},
    "refit_net": {"torch", "skops", "tabm"},
    "leaderboard": {"skops", "xgboost", "torch", "tabm"},  # loads every learner's models, nets included
    "evaluate": {"skops", "xgboost", "torch", "tabm"},
    "predict": {"skops", "xgboost", "torch", "tabm", "pandas_plink"},
    "pgs_score": {"skops"},  # the linear members' model files only (never a tree or net model)
}


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def project_requirements() -> dict[str, Requirement]:
    reqs = [Requirement(r) for r in _pyproject()["project"]["dependencies"]]
    return {canonicalize_name(r.name): r for r in reqs}


def load_env(name: str) -> dict[str, Any]:
    return yaml.safe_load(ENVS[name].read_text())


def conda_specs(env: dict[str, Any]) -> dict[str, str]:
    """{package: version spec} of an env's dependencies (channel prefixes dropped), the PyPI-only
    packages of its ``pip:`` section included (pinned ``==``)."""
    specs = {}
    deps: list[str] = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            assert set(dep) == {"pip"}, f"only a pip section may be a mapping: {dep!r}"
            assert "pip" in {d.split()[0] for d in env["dependencies"] if isinstance(d, str)}, "list pip beside it"
            for pkg in dep["pip"]:
                assert re.fullmatch(r"[A-Za-z0-9_.-]+ ?==\d+(\.\d+)*", pkg), f"pin PyPI-only {pkg!r} exactly (==)"
            deps += dep["pip"]
        else:
            deps.append(dep)
    for dep in deps:
        m = re.match(r"^(?:[\w.-]+::)?([A-Za-z0-9_.-]+)\s*(.*)$", dep.strip())
        assert m, dep
        specs[m.group(1).lower()] = m.group(2).replace(" ", "")
    return specs


def pypi_name(conda_name: str) -> str:
    return canonicalize_name(CONDA_TO_PYPI.get(conda_name, conda_name))


def versions_allowed(spec: str) -> list[Version]:
    """Representative versions a conda spec allows: '=2.4' -> 2.4.0 and 2.4.9999; '=2.2.9' -> 2.2.9;
    '>=1.2' -> 1.2 (the bound; an open range is only allowed for tools)."""
    m = re.fullmatch(r"=?=?(\d+(?:\.\d+)*)(\.\*)?", spec)
    if m and spec.startswith("="):
        parts = m.group(1).split(".")
        if len(parts) >= 3 and not m.group(2):
            return [Version(m.group(1))]
        return [Version(m.group(1) + ".0"), Version(m.group(1) + ".9999")]
    m = re.fullmatch(r">=([\w.]+)", spec)
    if m:
        return [Version(m.group(1))]
    raise AssertionError(f"unsupported or missing version spec {spec!r}: pin a series like '=2.4'")


def tool_version(text: str) -> tuple[tuple[int, int | str], ...]:
    """Order versions like plink2's '2.00a3.5' (not PEP 440): numbers numerically, letters as letters."""
    return tuple((0, int(t)) if t.isdigit() else (1, t) for t in re.findall(r"\d+|[a-z]+", text.lower()))


def transitive_requirement(name: str) -> Requirement | None:
    """How a pyproject dependency (as installed in this environment) requires ``name``, if it does."""
    for dep in project_requirements():
        try:
            requires = importlib.metadata.requires(dep) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for raw in requires:
            req = Requirement(raw)
            if canonicalize_name(req.name) == name and (req.marker is None or req.marker.evaluate({"extra": ""})):
                return req
    return None


# ----------------------------------------------------------------------------------------- env files
@pytest.mark.parametrize("name", sorted(ENVS))
def test_env_is_conda_forge_and_pinned(name):
    env = load_env(name)
    assert env["channels"][0] == "conda-forge" and "nodefaults" in env["channels"], env["channels"]
    specs = conda_specs(env)
    assert specs.get("python") == "=3.11", "python: the version CI tests (pyproject requires >=3.11)"
    for pkg, spec in specs.items():
        if pkg in TOOLS:
            assert re.fullmatch(r"(>=|=)[\w.]+", spec), f"envs/{name}.yaml: {pkg} needs a version bound"
            continue
        assert spec.startswith("="), f"envs/{name}.yaml: pin {pkg} to a tested series (e.g. '=2.4')"
        versions_allowed(spec)


@pytest.mark.parametrize("name", sorted(ENVS))
def test_env_packages_come_from_pyproject_with_compatible_versions(name):
    project = project_requirements()
    requires_python = SpecifierSet(_pyproject()["project"]["requires-python"])
    for pkg, spec in conda_specs(load_env(name)).items():
        if pkg in TOOLS:
            bound = spec.lstrip(">=")
            assert tool_version(bound) >= tool_version(TOOLS[pkg]), f"{pkg} {spec} is older than {TOOLS[pkg]}"
            continue
        allowed = versions_allowed(spec)
        if pkg == "python":
            assert all(v in requires_python for v in allowed), (spec, requires_python)
            continue
        pypi = pypi_name(pkg)
        req = project.get(pypi) or transitive_requirement(pypi)
        assert req is not None, (
            f"envs/{name}.yaml lists {pkg}, which is neither a dependency in pyproject.toml nor required "
            "by one: add it to pyproject.toml or drop it from the env")
        bad = [str(v) for v in allowed if not req.specifier.contains(v, prereleases=True)]
        assert not bad, f"envs/{name}.yaml: {pkg} {spec} allows {bad}, outside {req} ({'pyproject.toml' if pypi in project else 'required by a dependency'})"


def test_every_job_dependency_of_pyproject_is_in_some_env():
    listed = {pypi_name(pkg) for name in ENVS for pkg in conda_specs(load_env(name))}
    missing = set(project_requirements()) - listed - DRIVER_ONLY
    assert not missing, f"pyproject.toml dependencies in no envs/*.yaml: {sorted(missing)}"


def test_torch_env_is_the_classical_env_plus_pytorch():
    """train_net runs the same trial code as train_classical, so the same stack, same pins."""
    classical, torch = conda_specs(load_env("classical")), conda_specs(load_env("torch"))
    extra = {"pytorch", "pip", "tabm"}  # tabm (TabM) is PyPI-only: the env's pip installs it
    assert set(torch) - set(classical) == extra
    assert {k: v for k, v in torch.items() if k not in extra} == classical


def test_shared_packages_have_the_same_pins_everywhere():
    seen: dict[str, tuple[str, str]] = {}
    for name in ENVS:
        for pkg, spec in conda_specs(load_env(name)).items():
            if pkg in seen:
                assert seen[pkg][1] == spec, f"{pkg}: {seen[pkg][0]} pins {seen[pkg][1]}, {name} pins {spec}"
            seen[pkg] = (name, spec)


# ----------------------------------------------------------------------------------------- rules vs envs
_RULES_SCRIPT = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

with SnakemakeApi(OutputSettings()) as api:
    wf = api.workflow(resource_settings=ResourceSettings(),
                      config_settings=ConfigSettings(configfiles=[Path("config.yaml")]),
                      snakefile=Path(sys.argv[1]), workdir=Path("."))
    rules = {}
    for r in wf._workflow.rules:
        base = Path(r.basedir)
        rules[r.name] = {
            "script": str((base / r.script).resolve()) if r.script else None,
            "conda": str((base / r.conda_env).resolve()) if isinstance(r.conda_env, str) else r.conda_env,
        }
print("RULES=" + json.dumps(rules))
"""


def workflow_rules(workdir: Path) -> dict[str, dict[str, Any]]:
    """Every rule's script and conda env file, as Snakemake itself parses the workflow."""
    proc = subprocess.run([sys.executable, "-c", _RULES_SCRIPT, str(REPO / "Snakefile")], cwd=workdir,
                          capture_output=True, text=True, timeout=300)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RULES=")), None)
    assert proc.returncode == 0 and line, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(line[len("RULES="):])


@pytest.fixture(scope="module")
def rules_with_nets(small_cohort, tmp_path_factory):
    work = tmp_path_factory.mktemp("envs_nets")
    write_config(work, small_cohort, train={"learners": ["logistic_l1", "mlp"], "n_trials": 1})
    return workflow_rules(work)


def _module_imports(path: Path, *, all_levels: bool) -> set[str]:
    """Absolute names imported by a module: at module level (and in ``if``/``try`` blocks there, not
    under ``if TYPE_CHECKING``), or anywhere when ``all_levels``; relative imports resolved."""
    tree = ast.parse(path.read_text())
    package = path.relative_to(REPO).parts[:-1]  # a module's package; an __init__.py's own package
    names: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join([*package[: len(package) - node.level + 1], *([base] if base else [])])
                names.add(base)
                names.update(f"{base}.{a.name}" for a in node.names)
            elif isinstance(node, ast.If):
                if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                    visit(node.body)
                    visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                visit(node.finalbody)
            elif all_levels and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.With)):
                visit(node.body)

    visit(tree.body)
    return names


def third_party_imports(script: Path) -> set[str]:
    """Top-level third-party modules a rule's script needs: everything it (and scripts/_job.py)
    imports, and what the genoml_core modules it imports import at module level, transitively."""
    todo, seen, found = [script], set(), set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        in_scripts = path.parent == REPO / "scripts"
        for name in _module_imports(path, all_levels=in_scripts):
            top = name.split(".")[0]
            if top == "_job":
                todo.append(REPO / "scripts/_job.py")
            elif top == "genoml_core":
                parts = name.split(".")
                for i in range(1, len(parts) + 1):
                    module, package = REPO.joinpath(*parts[:i]).with_suffix(".py"), REPO.joinpath(*parts[:i], "__init__.py")
                    todo.extend(p for p in (module, package) if p.exists())
            elif top and top not in sys.stdlib_module_names and top != "snakemake":
                found.add(top)
    return found


def env_modules(env_file: Path) -> set[str]:
    """Top-level import names the env's packages provide (from this environment's installed metadata)."""
    dists = {pypi_name(pkg) for pkg in conda_specs(yaml.safe_load(env_file.read_text()))}
    provided = set()
    for module, owners in importlib.metadata.packages_distributions().items():
        if any(canonicalize_name(o) in dists for o in owners):
            provided.add(module)
    return provided


def test_every_rule_with_a_script_names_an_env(rules_with_nets):
    for name, rule in rules_with_nets.items():
        if rule["script"]:
            assert rule["conda"], f"rule {name} has no conda: directive"
            assert Path(rule["conda"]).exists(), f"rule {name}: {rule['conda']} does not exist"
            assert Path(rule["conda"]).parent == REPO / "envs", rule


def test_each_rule_env_provides_what_its_script_imports(rules_with_nets):
    checked = 0
    for name, rule in rules_with_nets.items():
        if not rule["script"] or not rule["conda"]:
            continue
        needed = third_party_imports(Path(rule["script"])) | LAZY_IMPORTS.get(name, set())
        missing = needed - env_modules(Path(rule["conda"]))
        assert not missing, f"rule {name}: {Path(rule['conda']).name} lacks {sorted(missing)}"
        checked += 1
    assert checked >= 10


def test_plink_rules_use_the_plink_env(rules_with_nets):
    for name, rule in rules_with_nets.items():
        if rule["script"] and "from genoml_core.genotypes import plink" in Path(rule["script"]).read_text():
            assert Path(rule["conda"]).name == "plink.yaml", name
    assert "plink2" in conda_specs(load_env("plink"))


def test_torch_rules_use_the_torch_env(rules_with_nets):
    assert Path(rules_with_nets["train_net"]["conda"]).name == "torch.yaml"
    assert Path(rules_with_nets["train_classical"]["conda"]).name == "classical.yaml"
    assert Path(rules_with_nets["refit_net"]["conda"]).name == "torch.yaml"
    assert Path(rules_with_nets["refit_classical"]["conda"]).name == "classical.yaml"
    # with a net configured, the rules that load every model need torch
    for name in ("leaderboard", "evaluate"):
        assert Path(rules_with_nets[name]["conda"]).name == "torch.yaml", name


def test_without_nets_the_model_rules_use_the_classical_env(small_cohort, tmp_path):
    write_config(tmp_path, small_cohort, train={"learners": ["logistic_l1"], "n_trials": 1})
    rules = workflow_rules(tmp_path)
    for name in ("leaderboard", "evaluate"):
        assert Path(rules[name]["conda"]).name == "classical.yaml", name
