"""PLINK 2 steps: sample QC, variant QC, LD pruning and association filtering.

Every step that estimates something from genotypes (variant filters, LD, association) takes an
explicit ``--keep`` file of *training* samples. The genotype files are never rewritten: steps
pass sample and variant lists to each other, and only munging reads genotypes into memory.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..errors import ConfigError, PlinkError

__all__ = [
    "plink_binary",
    "run_plink",
    "write_keep",
    "read_keep",
    "read_snplist",
    "qc_samples",
    "qc_variants",
    "ld_prune",
    "assoc_filter",
]

log = logging.getLogger(__name__)


def plink_binary() -> str:
    exe = shutil.which("plink2")
    if exe is None:
        raise PlinkError(
            "plink2 not found on PATH; install it (Debian/Ubuntu: apt-get install plink2; or see "
            "https://www.cog-genomics.org/plink/2.0/) and rerun"
        )
    return exe


def run_plink(args: Sequence[object], out: str | Path, *, threads: int = 1, memory_mb: int | None = None) -> None:
    """Run ``plink2 ARGS --out OUT`` (each argument through ``str``: paths and numbers are fine);
    raise PlinkError with the log tail when it fails."""
    cmd = [plink_binary(), *map(str, args), "--threads", str(threads), "--out", str(out)]
    if memory_mb:
        cmd += ["--memory", str(memory_mb)]
    log.info("running: %s", " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    plog = Path(f"{out}.log")
    text = plog.read_text() if plog.exists() else proc.stdout
    # keep PLINK's own log in the rule's log (steps run in temporary directories)
    log.info("plink2 log (%s.log):\n%s", out, text.strip())
    if proc.returncode != 0:
        tail = "\n".join((text + "\n" + proc.stderr).strip().splitlines()[-15:])
        raise PlinkError(f"plink2 exited with code {proc.returncode}: {' '.join(cmd)}\n{tail}")
    for line in text.splitlines():
        if line.startswith("Warning"):
            log.warning("plink2: %s", line)


def write_keep(ids: pd.DataFrame, path: str | Path) -> None:
    """Write a PLINK 2 sample list (``#FID IID``)."""
    from ..io import write_tsv

    write_tsv(ids[["FID", "IID"]].rename(columns={"FID": "#FID"}), path)


def read_keep(path: str | Path) -> pd.DataFrame:
    df = pd.read_csv(path, sep=r"\s+", dtype=str)
    return df.rename(columns={"#FID": "FID"})[["FID", "IID"]]


def read_snplist(path: str | Path) -> list[str]:
    return [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]


def _count_lines(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip() and not line.startswith("#"))


def qc_samples(
    bfile: str,
    samples: pd.DataFrame,
    *,
    mind: float | None,
    out_keep: str | Path,
    out_removed: str | Path | None = None,
    threads: int = 1,
) -> dict[str, Any]:
    """Sample QC (``--mind``) on the analysis samples.

    Writes the kept samples (``out_keep``) and, when ``out_removed`` is given, the removed ones
    (``FID IID reason``: individual-level data, ``results/individual/qc/removed_samples.tsv`` in
    the workflow). Returns counts only: the summary never lists sample ids.
    """
    with tempfile.TemporaryDirectory(prefix="genoml_qc_") as tmp:
        keep = Path(tmp) / "in.keep"
        write_keep(samples, keep)
        args = ["--bfile", bfile, "--keep", keep, "--write-samples"]
        if mind is not None:
            args += ["--mind", mind]
        run_plink(args, Path(tmp) / "mind", threads=threads)
        kept = read_keep(Path(tmp) / "mind.id")
        mindrem = Path(tmp) / "mind.mindrem.id"
        removed = read_keep(mindrem) if mindrem.exists() and mindrem.stat().st_size else kept.iloc[:0]
    write_keep(kept, out_keep)
    if out_removed is not None:
        from ..io import write_tsv

        write_tsv(removed[["FID", "IID"]].assign(reason="mind"), out_removed)
    return {
        "analysis_samples": len(samples),
        "removed_mind": len(samples) - len(kept),
        "samples_after_qc": len(kept),
    }


def qc_variants(
    bfile: str,
    train_keep: str | Path,
    *,
    geno: float | None,
    maf: float | None,
    hwe: float | None,
    hwe_keep: str | Path | None,
    out_snplist: str | Path,
    threads: int = 1,
) -> dict[str, Any]:
    """Variant QC computed on training samples only: --geno, then --maf, then --hwe.

    Filters run one after another so the summary can say how many variants each one removed.
    ``hwe_keep`` restricts the HWE test to a subset (training controls for a binary task).
    """
    summary: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="genoml_vqc_") as tmp:
        t = Path(tmp)
        run_plink(["--bfile", bfile, "--keep", train_keep, "--write-snplist"], t / "all", threads=threads)
        current = t / "all.snplist"
        summary["variants_in"] = _count_lines(current)
        steps: list[tuple[str, list[Any], str | Path]] = []
        if geno is not None:
            steps.append(("geno", ["--geno", geno], train_keep))
        if maf is not None:
            steps.append(("maf", ["--maf", maf], train_keep))
        if hwe is not None:
            steps.append(("hwe", ["--hwe", hwe], hwe_keep or train_keep))
        for name, flag, keep in steps:
            before = _count_lines(current)
            run_plink(
                ["--bfile", bfile, "--keep", keep, "--extract", current, *flag, "--write-snplist"],
                t / name,
                threads=threads,
            )
            nxt = t / f"{name}.snplist"
            after = _count_lines(nxt) if nxt.exists() else 0
            summary[f"removed_{name}"] = before - after
            current = nxt
            if after == 0:
                raise ConfigError(
                    f"variant QC: --{name} {flag[1]} removed every remaining variant; relax qc.{name} or set "
                    "it to null"
                )
        summary["variants_after_qc"] = _count_lines(current)
        Path(out_snplist).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(current, out_snplist)
    return summary


def ld_prune(
    bfile: str,
    train_keep: str | Path,
    extract: str | Path,
    *,
    enabled: bool,
    window: int,
    step: int,
    r2: float,
    out_snplist: str | Path,
    threads: int = 1,
) -> dict[str, Any]:
    """``--indep-pairwise`` on training samples; writes the kept variants (``.prune.in``)."""
    n_in = _count_lines(Path(extract))
    if not enabled:
        shutil.copyfile(extract, out_snplist)
        return {"enabled": False, "variants_in": n_in, "variants_kept": n_in}
    with tempfile.TemporaryDirectory(prefix="genoml_ld_") as tmp:
        n_train = _count_lines(Path(train_keep))
        args: list[object] = ["--bfile", bfile, "--keep", train_keep, "--extract", extract]
        args += ["--indep-pairwise", window, step, r2]
        if n_train < 50:
            args.append("--bad-ld")  # tiny test cohorts: PLINK refuses LD from < 50 founders
        run_plink(args, Path(tmp) / "ld", threads=threads)
        Path(out_snplist).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(tmp) / "ld.prune.in", out_snplist)
    kept = _count_lines(Path(out_snplist))
    return {"enabled": True, "variants_in": n_in, "variants_kept": kept, "removed_ld": n_in - kept}


def _glm_one(
    bfile: str,
    keep: Path,
    extract: str | Path,
    pheno: pd.DataFrame,
    covar: pd.DataFrame | None,
    binary: bool,
    tmp: Path,
    tag: str,
    threads: int,
) -> pd.DataFrame:
    pfile = tmp / f"{tag}.pheno"
    pheno.rename(columns={"FID": "#FID"}).to_csv(pfile, sep="\t", index=False, na_rep="NA")
    args = ["--bfile", bfile, "--keep", keep, "--extract", extract, "--pheno", pfile]
    modifiers = ["hide-covar"]
    if covar is not None and covar.shape[1] > 2:
        cfile = tmp / "covar.tsv"
        covar.rename(columns={"FID": "#FID"}).to_csv(cfile, sep="\t", index=False, na_rep="NA")
        args += ["--covar", cfile, "--covar-variance-standardize"]
    else:
        modifiers.append("allow-no-covars")
    if binary:
        modifiers.append("firth-fallback")
    args += ["--glm", *modifiers]
    run_plink(args, tmp / tag, threads=threads)
    found = list(tmp.glob(f"{tag}.*.glm.*"))
    if not found:
        raise PlinkError(f"plink2 --glm wrote no result file for {tag} in {tmp}")
    res = pd.read_csv(found[0], sep="\t", dtype={"ID": str})
    res = res[res["TEST"] == "ADD"] if "TEST" in res else res
    return res[["ID", "P"]].assign(P=lambda d: pd.to_numeric(d.P, errors="coerce"))


def assoc_filter(
    bfile: str,
    train: pd.DataFrame,
    extract: str | Path,
    *,
    task: str,
    covariates: pd.DataFrame | None,
    enabled: bool,
    p_threshold: float | None,
    top_k: int | None,
    out_snplist: str | Path,
    out_table: str | Path,
    threads: int = 1,
) -> dict[str, Any]:
    """Association test (``--glm`` with covariates) on the training samples; keep SNPs by p.

    ``train`` has FID IID label. Multiclass: one-vs-rest tests, each SNP's smallest p times the
    number of classes (Bonferroni) is its p. Variants whose test fails (NA) rank last.
    """
    from ..io import write_tsv

    variants = read_snplist(extract)
    if not enabled:
        shutil.copyfile(extract, out_snplist)
        write_tsv(pd.DataFrame({"ID": variants, "P": np.nan}), out_table)
        return {"enabled": False, "variants_in": len(variants), "variants_kept": len(variants)}
    with tempfile.TemporaryDirectory(prefix="genoml_glm_") as tmp:
        t = Path(tmp)
        keep = t / "train.keep"
        write_keep(train, keep)
        covar = None
        if covariates is not None:
            covar = train[["FID", "IID"]].merge(covariates, on=["FID", "IID"], how="left")
            usable = [c for c in covar.columns[2:] if covar[c].nunique(dropna=True) > 1]
            covar = covar[["FID", "IID", *usable]]
        ph = train[["FID", "IID"]].copy()
        if task == "binary":
            ph["Y"] = train["label"].to_numpy() + 1  # PLINK: 1 control, 2 case
            res = _glm_one(bfile, keep, extract, ph, covar, True, t, "y", threads)
            p = res.set_index("ID")["P"]
        elif task == "continuous":
            ph["Y"] = train["label"].to_numpy()
            res = _glm_one(bfile, keep, extract, ph, covar, False, t, "y", threads)
            p = res.set_index("ID")["P"]
        else:
            classes = sorted(train["label"].unique())
            ps = []
            for k in classes:
                ph["Y"] = (train["label"].to_numpy() == k).astype(int) + 1
                res = _glm_one(bfile, keep, extract, ph, covar, True, t, f"class{k}", threads)
                ps.append(res.set_index("ID")["P"].rename(str(k)))
            p = (pd.concat(ps, axis=1).min(axis=1) * len(classes)).clip(upper=1.0)
    table = pd.DataFrame({"ID": variants}).merge(p.rename("P").reset_index(), on="ID", how="left")
    ranked = table.assign(_p=table.P.fillna(np.inf)).sort_values(["_p", "ID"], kind="mergesort")
    chosen = ranked
    if p_threshold is not None:
        chosen = chosen[chosen._p < p_threshold]
    if top_k is not None:
        chosen = chosen.head(top_k)
    if chosen.empty:
        raise ConfigError(
            f"assoc_filter: no variant has p < {p_threshold} in the training samples; raise "
            "assoc_filter.p_threshold, use top_k instead, or disable the filter"
        )
    keep_ids = set(chosen.ID)
    ordered = [v for v in variants if v in keep_ids]  # keep genomic order
    Path(out_snplist).parent.mkdir(parents=True, exist_ok=True)
    Path(out_snplist).write_text("\n".join(ordered) + "\n")
    write_tsv(table, out_table)
    return {
        "enabled": True,
        "variants_in": len(variants),
        "variants_kept": len(ordered),
        "failed_tests": int(table.P.isna().sum()),
        "max_p_kept": float(chosen._p.max()),
    }
