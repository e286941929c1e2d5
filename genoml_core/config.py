"""Configuration: validate against the schema (genoml_core/config.schema.yaml), fill defaults, explain mistakes.

The schema is the single source of defaults. Validation runs when the Snakefile is parsed,
so a typo or an impossible value stops the run before any job starts.
"""

from __future__ import annotations

import copy
import difflib
import logging
from pathlib import Path
from typing import Any, Mapping

import yaml
from jsonschema import Draft202012Validator, validators

from . import layout
from .models import registry
from .errors import ConfigError

__all__ = [
    "SCHEMA_PATH",
    "load_config",
    "validate_config",
    "coerce_text_values",
    "NET_LEARNERS",
    "STREAMING_LEARNERS",
    "SELF_TUNING_LEARNERS",
    "resolve_learners",
    "learner_space",
    "learner_n_trials",
    "check_input_paths",
]

log = logging.getLogger(__name__)

#: The config schema, shipped inside the package (so a non-editable install validates configs too).
SCHEMA_PATH = Path(__file__).resolve().parent / "config.schema.yaml"


def _with_defaults(cls):
    """A validator class that also fills ``default`` values (jsonschema FAQ recipe)."""
    validate_properties = cls.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for prop, sub in properties.items():
                if "default" in sub and prop not in instance:
                    instance[prop] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return validators.extend(cls, {"properties": set_defaults})


_FillingValidator = _with_defaults(Draft202012Validator)


def _load_schema(schema_path: Path | None) -> dict[str, Any]:
    return yaml.safe_load(Path(schema_path or SCHEMA_PATH).read_text())


def _explain(err: Any, schema: Mapping[str, Any]) -> str:
    where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = [k for k in err.instance if k not in allowed]
        hints = []
        for key in extra:
            close = difflib.get_close_matches(key, allowed, n=1)
            hints.append(f"'{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        return (
            f"config key {where}: unknown key {', '.join(hints)}; allowed keys here: {', '.join(allowed)}"
        )
    if err.validator == "required":
        return f"config key {where}: {err.message}; add it (see config/config.yaml for an example)"
    if err.validator == "enum":
        return f"config key {where}: {err.instance!r} is not allowed; use one of {err.validator_value}"
    if err.validator in {"type"}:
        hint = ""
        if isinstance(err.instance, str):
            hint = (
                f" (text that does not read as {err.validator_value}: write a valid value, unquoted; "
                "settings can also go in a YAML file passed with --configfile)"
            )
        return f"config key {where}: {err.instance!r} has the wrong type; expected {err.validator_value}{hint}"
    return f"config key {where}: {err.message}"


_NOT_PARSED = object()


def _allowed_types(schema: Mapping[str, Any]) -> set[str] | None:
    """JSON types a (sub)schema allows; ``None`` when it does not say (anything goes)."""
    t = schema.get("type")
    if t is not None:
        return {t} if isinstance(t, str) else set(t)
    if "enum" in schema:
        names = {str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null"}
        return {names.get(type(v), "object") for v in schema["enum"]}
    return None


def _parse_text(text: str, types: set[str]) -> Any:
    """``text`` read as YAML (``"true"`` -> True, ``"3"`` -> 3, ``"null"`` -> None, ``"{a: 1}"`` -> dict)."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return _NOT_PARSED
    if isinstance(value, str) and "number" in types:
        try:  # YAML 1.1 reads 1e-3 (no dot) as text
            return float(text)
        except ValueError:
            return _NOT_PARSED
    return _NOT_PARSED if isinstance(value, str) else value


def _coerce_text(value: Any, schema: Mapping[str, Any]) -> Any:
    types = _allowed_types(schema)
    if isinstance(value, str) and types is not None and "string" not in types:
        parsed = _parse_text(value, types)
        if parsed is not _NOT_PARSED:
            value = parsed
    if isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key in list(value):
            sub = props.get(key, extra if isinstance(extra, Mapping) else None)
            if sub is not None:
                value[key] = _coerce_text(value[key], sub)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        value = [_coerce_text(v, schema["items"]) for v in value]
    return value


def coerce_text_values(config: Mapping[str, Any], schema_path: Path | None = None) -> dict[str, Any]:
    """A deep copy of ``config`` with text read as YAML where the schema does not allow text.

    Snakemake reads the values inside a nested ``--config`` mapping as text (its YAML
    ``BaseLoader``): ``--config 'embed={"enabled": true}'`` gives ``{"enabled": "true"}``. Where
    the schema expects a boolean, number, null, array or object, and text is not allowed, such a
    value is read as YAML (``"true"`` -> ``True``, ``"3"`` -> ``3``, ``"1e-3"`` -> ``0.001``,
    ``"null"`` -> ``None``); text that does not read as another type is left for validation to
    reject. Values where the schema allows text (ids, paths, enums of names) or says nothing
    (search-space entries) are never changed.

    Example:
        >>> coerce_text_values({"embed": {"enabled": "true", "n_trials": "2"}})["embed"]
        {'enabled': True, 'n_trials': 2}
    """
    return _coerce_text(copy.deepcopy(dict(config)), _load_schema(schema_path))


def validate_config(config: Mapping[str, Any], schema_path: Path | None = None) -> dict[str, Any]:
    """Return a validated deep copy of ``config`` with every schema default filled in.

    Text where the schema expects another type is read as YAML first
    (:func:`coerce_text_values`), so nested ``snakemake --config`` values work.

    Raises:
        ConfigError: naming every offending key and how to fix it.
    """
    schema = _load_schema(schema_path)
    cfg = _coerce_text(copy.deepcopy(dict(config)), schema)
    errors = sorted(_FillingValidator(schema).iter_errors(cfg), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(_explain(e, schema) for e in errors))
    _check_consistency(cfg)
    return cfg


def load_config(path: str | Path, schema_path: Path | None = None) -> dict[str, Any]:
    """Read a YAML config file and validate it (see :func:`validate_config`)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
    return validate_config(raw, schema_path)


def _check_consistency(cfg: dict[str, Any]) -> None:
    split = cfg["split"]
    if split["method"] == "holdout" and split["valid_fraction"] + split["test_fraction"] >= 0.8:
        raise ConfigError(
            "config key split: valid_fraction + test_fraction leaves under 20% of samples for training; "
            "lower them"
        )
    if cfg["data"]["genotypes"] is None and not cfg["data"].get("omics"):
        raise ConfigError(
            "config key data: genotypes is null and no data.omics matrix is given; set data.genotypes to a "
            "PLINK prefix, or data.omics to a feature matrix for a matrix-only run"
        )
    af = cfg["assoc_filter"]
    if af["enabled"] and af["p_threshold"] is None and af["top_k"] is None:
        raise ConfigError(
            "config key assoc_filter: enabled but neither p_threshold nor top_k is set; set one, "
            "or set enabled: false"
        )
    learners = resolve_learners(cfg)
    from .tuning import search

    spaces = cfg["train"]["search_spaces"]
    for name in spaces:
        if name not in learners:
            raise ConfigError(
                f"config key train.search_spaces.{name}: {name!r} is not among the learners being trained "
                f"({', '.join(learners)}); remove it or add it to train.learners"
            )
    for name in learners:
        search.validate_space(name, learner_space(cfg, name))
    if "rrfcn" in learners:
        if "rrfcn" in cfg["train"]["n_trials_per_learner"]:
            raise ConfigError(
                "config key train.n_trials_per_learner.rrfcn: rrfcn retrains the top nas.top_k architectures "
                "of the search, one trial each; set nas.top_k instead"
            )
        from .models.nas import NASConfig

        NASConfig.from_dict(cfg["nas"])  # raises ConfigError naming the nas key to fix
    for name in cfg["train"]["n_trials_per_learner"]:
        if name not in learners:
            raise ConfigError(
                f"config key train.n_trials_per_learner.{name}: {name!r} is not being trained; remove it"
            )


# Views of genoml_core.models.registry (where every learner is declared), kept for callers; the code here
# and the Snakefile ask the registry, which is plain data (no scikit-learn or torch at parse time).
#: The PyTorch networks (rrfcn included).
NET_LEARNERS = registry.names(kinds=registry.NET_KINDS)
#: Classical learners fitted out of core (genoml_core.models.outofcore).
STREAMING_LEARNERS = registry.names(kinds="streaming")
#: Learners tuned by their own inner cross-validation (one trial each).
SELF_TUNING_LEARNERS = tuple(name for name, spec in registry.REGISTRY.items() if spec.self_tuning)


def resolve_learners(cfg: Mapping[str, Any]) -> list[str]:
    """The learners to train: the configured list (checked against the task), or the registry's
    default set for the task (:data:`genoml_core.models.registry.REGISTRY`, ``default=True``); the others
    (the out-of-core learners, the PyTorch nets, rrfcn, whose architectures come from the nas_search
    job) are trained when listed. Learners reading genotypes (feature set ``genome``) are left out,
    or refused, in a matrix-only run."""
    task = cfg["task"]
    chosen = cfg["train"]["learners"]
    genotypes = bool(cfg["data"].get("genotypes"))
    if chosen is None:
        # the genome-wide learners read int8 genotypes: not in a matrix-only (expression) run
        return [n for n in registry.available(task, defaults_only=True)
                if genotypes or registry.feature_set(n) != "genome"]
    if not genotypes:
        for name in chosen:
            if registry.feature_set(name) == "genome":
                raise ConfigError(
                    f"config key train.learners: {name!r} reads genotypes, and data.genotypes is null (a "
                    "matrix-only run); remove it, or use logistic_elasticnet / elastic_net on the omics matrix"
                )
    ok = set(registry.available(task))
    for name in chosen:
        if name not in ok:
            raise ConfigError(
                f"config key train.learners: {name!r} cannot be trained for task {task!r}; "
                f"choose from {', '.join(sorted(ok))}"
            )
    return list(chosen)


def learner_space(cfg: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The search space of one learner: the config's if given, else the registry's default (computed
    from the config for rrfcn: its ``nas.retrain`` settings)."""
    spaces = cfg["train"]["search_spaces"]
    if name in spaces:
        return copy.deepcopy(spaces[name])
    if registry.get(name) is None:
        raise ConfigError(f"config key train.search_spaces: no space for {name!r}; add one")
    return registry.default_space(name, cfg)


def learner_n_trials(cfg: Mapping[str, Any], name: str) -> int:
    """Trials of one learner: fixed by the registry (rrfcn: ``nas.top_k``; a self-tuning learner: 1),
    else ``train.n_trials_per_learner.<name>`` or ``train.n_trials``."""
    fixed = registry.fixed_trials(name, cfg)
    if fixed is not None:
        return fixed
    return int(cfg["train"]["n_trials_per_learner"].get(name, cfg["train"]["n_trials"]))


#: where converted genotypes go (genoml_core.genotypes.formats): the training cohort, and each
#: predict cohort under its name (the patterns are :mod:`genoml_core.layout`'s)
CONVERTED_GENOTYPES = layout.CONVERTED_GENOTYPES
CONVERTED_COHORT = layout.CONVERTED_COHORT


def genotype_conversions(cfg: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Point every genotype input of ``cfg`` at a PLINK 1 prefix; return what must be converted.

    Inputs that are PLINK 1 filesets (without ``data.keep`` / ``data.extract``) stay where they
    are. The others (PLINK 2, VCF/BCF, BGEN, or a subset) are rewritten to the prefix plink2 will
    write (:data:`CONVERTED_GENOTYPES`, :data:`CONVERTED_COHORT`), and listed as
    ``{prefix: {"source": GenotypeSource, "options": {...}, "what": config key}}``; the
    original path is kept as ``genotypes_source``.
    """
    from .genotypes.formats import needs_conversion, resolve

    out: dict[str, dict[str, Any]] = {}
    data = cfg["data"]
    if data.get("genotypes"):
        src = resolve(data["genotypes"], sample=data.get("sample"), check=False)
        options = {k: data.get(k) for k in ("keep", "extract", "vcf_id_delim", "hard_call_threshold")}
        data["genotypes_source"] = data["genotypes"]
        if needs_conversion(src, options):
            out[CONVERTED_GENOTYPES] = {"source": src, "options": options, "what": "data.genotypes"}
            data["genotypes"] = CONVERTED_GENOTYPES
        else:
            data["genotypes"] = src.path
    for name, cohort in ((cfg.get("predict") or {}).get("cohorts") or {}).items():
        src = resolve(cohort["genotypes"], sample=cohort.get("sample"), check=False)
        options = {"vcf_id_delim": cohort.get("vcf_id_delim") or data.get("vcf_id_delim"),
                   "hard_call_threshold": data.get("hard_call_threshold")}
        cohort["genotypes_source"] = cohort["genotypes"]
        if needs_conversion(src, options):
            prefix = CONVERTED_COHORT.format(cohort=name)
            out[prefix] = {"source": src, "options": options, "what": f"predict.cohorts.{name}.genotypes"}
            cohort["genotypes"] = prefix
        else:
            cohort["genotypes"] = src.path
    return out


def check_input_paths(cfg: Mapping[str, Any], base: str | Path = ".") -> None:
    """Every input file named in the config exists (checked before any job runs)."""
    from .genotypes.formats import GenotypeFormatError, resolve

    base = Path(base)
    data = cfg["data"]
    missing = []
    problems = []  # genotype inputs whose format or companion files are wrong (their own message)
    if data["genotypes"]:
        try:
            resolve(data["genotypes"], sample=data.get("sample"), base=base)
        except GenotypeFormatError as exc:
            problems.append(str(exc))
    for key in ("phenotype", "covariates", "omics", "groups", "keep", "extract"):
        if data.get(key):
            p = base / data[key]
            if not p.exists():
                missing.append((f"data.{key}", p))
    truth = (cfg.get("explain") or {}).get("truth")
    if truth and not (base / truth).exists():
        missing.append(("explain.truth", base / truth))
    cohorts = (cfg.get("predict") or {}).get("cohorts") or {}
    for name, cohort in cohorts.items():
        try:
            resolve(cohort["genotypes"], sample=cohort.get("sample"), base=base,
                    what=f"predict.cohorts.{name}.genotypes")
        except GenotypeFormatError as exc:
            problems.append(str(exc))
        for key in ("covariates", "omics", "phenotype"):
            if cohort.get(key):
                p = base / cohort[key]
                if not p.exists():
                    missing.append((f"predict.cohorts.{name}.{key}", p))
    if missing or problems:
        lines = problems + [f"config key {k}: file {p} does not exist" for k, p in missing]
        raise ConfigError(
            "input files not found:\n  " + "\n  ".join(lines) + "\n  fix the paths in the config "
            "(relative paths are read from the working directory)"
        )
