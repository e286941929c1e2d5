"""Genotype inputs in the formats geneticists hold them: PLINK 1, PLINK 2, VCF/BCF and BGEN 1.2.

The workflow reads PLINK 1 ``.bed`` filesets (int8 counts, memory-mapped, the LUT decoder). Any
other input is converted once, by plink2, into ``results/individual/inputs/genotypes.{bed,bim,fam}`` (a
predict cohort into ``results/individual/inputs/cohorts/<name>/genotypes.*``); a PLINK 1 input is used in
place unless ``data.keep`` / ``data.extract`` ask for a subset, which is then written the same way.

How each format is read (plink2 flags):

- PLINK 1: ``--bfile``; PLINK 2: ``--pfile`` (``.pgen/.pvar/.psam``);
- VCF/BCF: ``--vcf`` / ``--bcf`` with ``--double-id`` (FID = IID = the VCF sample id), or
  ``--id-delim D`` when ``data.vcf_id_delim`` is set (``FAM1_IND1`` -> FID ``FAM1``, IID ``IND1``);
  dosages from the ``DS`` field when present (``dosage=DS``), else the ``GT`` calls;
- BGEN 1.2: ``--bgen F ref-first --sample S`` (UK Biobank's convention: the first allele is REF),
  with ``S`` = ``data.sample`` or the ``.sample`` beside the ``.bgen``.

Dosages become hard calls (a ``.bed`` holds 0/1/2): plink2's ``--hard-call-threshold``
(``data.hard_call_threshold``, default 0.1) calls a dosage within 0.1 of 0, 1 or 2 and sets the
others missing, so an uncertain imputed genotype is missing (imputed later with the training
mean) rather than rounded. Multi-allelic variants are dropped (``--max-alleles 2``; a ``.bed``
holds two alleles), and variants without an id get ``chrom:pos:ref:alt``
(``--set-missing-var-ids``), so ids stay unique.

This module imports nothing heavy: the Snakefile reads it while parsing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

__all__ = ["GenotypeSource", "resolve", "FORMATS", "convert"]

FORMATS = ("plink1", "plink2", "vcf", "bcf", "bgen")
_SUFFIXES = {
    ".bed": "plink1",
    ".pgen": "plink2",
    ".vcf": "vcf",
    ".vcf.gz": "vcf",
    ".vcf.bgz": "vcf",
    ".bcf": "bcf",
    ".bgen": "bgen",
}


from ..errors import GenomlError, InputError  # noqa: E402  (no third-party imports)


class GenotypeFormatError(InputError):
    """A genotype path whose format cannot be told, or whose companion files are missing."""


@dataclass(frozen=True)
class GenotypeSource:
    """One genotype input as the config names it, resolved to a format and its files."""

    given: str
    format: str
    path: str  # PLINK prefix, or the VCF/BCF/BGEN file
    files: tuple[str, ...]  # every file plink2 reads (rule inputs)
    sample: str | None = None  # BGEN .sample

    @property
    def is_plink1(self) -> bool:
        return self.format == "plink1"


def _split_suffix(path: str) -> tuple[str, str | None]:
    low = path.lower()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if low.endswith(suffix):
            return path[: -len(suffix)], suffix
    return path, None


def resolve(given: str, *, sample: str | None = None, base: str | os.PathLike[str] = ".",
            what: str = "data.genotypes", check: bool = True) -> GenotypeSource:
    """Tell the format of ``given`` (a prefix or a file) from its name and the files present.

    A PLINK prefix is looked up as ``.bed`` then ``.pgen``; a prefix with both is refused (say
    which, by naming the file). ``check=False`` skips the existence checks (dry runs of paths
    made later).

    Raises:
        GenotypeFormatError: the format cannot be told, or a companion file is missing.
    """
    base = Path(base)
    stem, suffix = _split_suffix(str(given))
    exists = (lambda p: (base / p).exists()) if check else (lambda p: True)
    if suffix is None:  # a prefix: PLINK 1 or PLINK 2
        found = [fmt for fmt, ext in (("plink1", ".bed"), ("plink2", ".pgen")) if (base / f"{stem}{ext}").exists()]
        if len(found) > 1:
            raise GenotypeFormatError(f"{what}: {given} is both a PLINK 1 (.bed) and a PLINK 2 (.pgen) prefix; "
                                      f"name the file you mean ({given}.bed or {given}.pgen)")
        if not found:
            if not check:
                found = ["plink1"]
            else:
                raise GenotypeFormatError(
                    f"{what}: no genotype files at {given} (looked for {given}.bed/.bim/.fam and "
                    f"{given}.pgen/.pvar/.psam); give a PLINK prefix, a .bed, .pgen, .vcf.gz, .bcf or .bgen file")
        fmt = found[0]
    else:
        fmt = _SUFFIXES[suffix]
    if fmt == "plink1":
        files = tuple(f"{stem}{e}" for e in (".bed", ".bim", ".fam"))
        path = stem
    elif fmt == "plink2":
        files = tuple(f"{stem}{e}" for e in (".pgen", ".pvar", ".psam"))
        path = stem
    elif fmt == "bgen":
        sample = sample or f"{stem}.sample"
        files = (str(given), sample)
        path = str(given)
    else:
        files = (str(given),)
        path = str(given)
    absent = [f for f in files if not exists(f)]
    if absent:
        raise GenotypeFormatError(f"{what}: {fmt} input {given} lacks {', '.join(absent)}"
                                  + ("; give the BGEN sample file as data.sample" if fmt == "bgen" else ""))
    return GenotypeSource(str(given), fmt, path, files, sample if fmt == "bgen" else None)


def plink_read_args(src: GenotypeSource, options: Mapping[str, Any]) -> list[str]:
    """plink2 flags that read ``src`` (see the module docstring)."""
    if src.format == "plink1":
        return ["--bfile", src.path]
    if src.format == "plink2":
        return ["--pfile", src.path]
    if src.format in ("vcf", "bcf"):
        args = [f"--{src.format}", src.path]
        if src.format == "bcf" or _vcf_has_ds(src.path):  # plink2 warns when asked for an absent DS
            args.append("dosage=DS")
        delim = options.get("vcf_id_delim")
        args += ["--id-delim", str(delim)] if delim else ["--double-id"]
        return args
    return ["--bgen", src.path, "ref-first", "--sample", str(src.sample)]


def _vcf_has_ds(path: str) -> bool:
    """Whether a VCF (plain or bgzipped) declares a FORMAT/DS field in its header."""
    import gzip

    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    with (gzip.open(path, "rt", errors="replace") if gz else open(path, errors="replace")) as fh:
        for line in fh:
            if not line.startswith("##"):
                return False
            if line.startswith("##FORMAT=<ID=DS,"):
                return True
    return False


def needs_conversion(src: GenotypeSource, options: Mapping[str, Any]) -> bool:
    return not src.is_plink1 or bool(options.get("keep")) or bool(options.get("extract"))


def convert(src: GenotypeSource, out_prefix: str | os.PathLike[str], options: Mapping[str, Any], *,
            threads: int = 1) -> dict[str, Any]:
    """Write ``out_prefix.{bed,bim,fam}`` from ``src`` (hard calls, biallelic, unique ids,
    ``data.keep`` / ``data.extract`` applied); all three appear together. Returns a report."""
    import shutil
    import tempfile

    from .. import io
    from .plink import run_plink

    out_prefix = Path(out_prefix)
    out_prefix.parent.mkdir(parents=True, exist_ok=True)
    threshold = float(options.get("hard_call_threshold", 0.1))
    with tempfile.TemporaryDirectory(prefix="genoml_convert_", dir=out_prefix.parent) as tmp:
        tmp_out = Path(tmp) / "g"
        args = plink_read_args(src, options)
        args += ["--max-alleles", "2", "--set-missing-var-ids", "@:#:$r:$a", "--new-id-max-allele-len", "100",
                 "missing", "--hard-call-threshold", str(threshold)]
        for key in ("keep", "extract"):
            if options.get(key):
                args += [f"--{key}", str(options[key])]
        args += ["--make-bed"]
        try:
            run_plink(args, tmp_out, threads=threads)
            fam, bim = io.read_fam(tmp_out), io.read_bim(tmp_out)
        except GenomlError as exc:  # say which input, then plink2's or the check's own words
            text = str(exc).replace(str(tmp_out), f"<{src.format} converted>")
            raise GenotypeFormatError(f"{src.given} ({src.format}) could not be read as genotypes: {text}") from exc
        log_text = Path(f"{tmp_out}.log").read_text() if Path(f"{tmp_out}.log").exists() else ""
        with io.StagedOutputs() as staged:  # .fam last: the three appear together
            for ext in (".bed", ".bim", ".fam"):
                shutil.copyfile(f"{tmp_out}{ext}", staged.stage(f"{out_prefix}{ext}"))
    if len(fam) == 0 or len(bim) == 0:
        raise GenotypeFormatError(f"{src.given}: {len(fam)} samples and {len(bim)} variants left after conversion"
                                  " (check data.keep / data.extract and the file)")
    dropped = [line.strip() for line in log_text.splitlines() if "--max-alleles" in line or "removed" in line]
    return {"source": src.given, "format": src.format, "files": list(src.files), "output": str(out_prefix),
            "samples": len(fam), "variants": len(bim), "hard_call_threshold": threshold,
            "keep": options.get("keep"), "extract": options.get("extract"),
            "id_mode": (f"--id-delim {options['vcf_id_delim']}" if options.get("vcf_id_delim") else "--double-id")
            if src.format in ("vcf", "bcf") else None,
            "plink2_notes": dropped[:10]}
