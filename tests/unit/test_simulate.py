"""Tests for genoml_core.simulate (the example-cohort simulator) and io.BedWriter."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import FrozenInstanceError, asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genoml_core import io
from genoml_core.errors import ConfigError
from genoml_core.simulate import (
    THREE_CLASS_LABELS,
    SimulationSpec,
    main,
    simulate_cohort,
    three_class_probabilities,
)

SMALL = SimulationSpec(n_samples=400, n_snps=3000, n_chromosomes=3, n_new=150, n_causal=20, seed=7)
PLINK2 = shutil.which("plink2")
needs_plink2 = pytest.mark.skipif(PLINK2 is None, reason="plink2 not on PATH")


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sim")
    truth = simulate_cohort(out, SMALL)
    return out, truth


@pytest.fixture(scope="module")
def train(sim: tuple[Path, dict]) -> dict:
    out, truth = sim
    g = io.read_genotypes(out / "cohort", engine="lut")
    bim = io.read_bim(out / "cohort")
    fam = io.read_fam(out / "cohort")
    bad_samples = fam.IID.isin({d["IID"] for d in truth["bad_samples"]}).to_numpy()
    bad_ids = set().union(*(truth["bad_snps"][k] for k in ("high_missing", "low_maf", "hwe")))
    bad_snps = bim.SNP.isin(bad_ids).to_numpy()
    return {"g": g, "bim": bim, "fam": fam, "bad_samples": bad_samples, "bad_snps": bad_snps}


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _freq(g: np.ndarray) -> np.ndarray:
    gm = np.where(g < 0, np.nan, g.astype(float))
    with np.errstate(invalid="ignore"):
        return np.nanmean(gm, axis=0) / 2


def _standardize(g: np.ndarray) -> np.ndarray:
    x = np.where(g < 0, np.nan, g.astype(float))
    mu = np.nanmean(x, axis=0)
    x = np.where(np.isnan(x), mu, x) - mu
    sd = x.std(axis=0)
    return x / np.where(sd > 0, sd, 1.0)


def _auc(score: np.ndarray, label: np.ndarray) -> float:
    order = np.argsort(score, kind="stable")
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)
    n1 = label.sum()
    n0 = len(label) - n1
    return float((ranks[label == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _plink(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([PLINK2, *args], cwd=cwd, capture_output=True, text=True)


def _plink_kept(prefix: Path, flag: list[str], tmp: Path) -> tuple[set[str], set[str]]:
    """Samples and SNPs plink2 keeps after one QC filter."""
    res = _plink(["--bfile", str(prefix), *flag, "--write-snplist", "--write-samples", "--out", str(tmp / "q")], tmp)
    assert res.returncode == 0, res.stdout + res.stderr
    snps = set((tmp / "q.snplist").read_text().split())
    ids = pd.read_csv(tmp / "q.id", sep="\t", dtype=str)
    return set(ids["IID"]), snps


# ----------------------------------------------------------------------------- determinism
def test_same_seed_byte_identical_other_seed_differs(sim: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = sim
    again = tmp_path / "again"
    simulate_cohort(again, replace(SMALL, chunk_snps=97))  # chunking must not matter either
    assert _digests(again) == _digests(out)
    other = tmp_path / "other"
    simulate_cohort(other, replace(SMALL, seed=SMALL.seed + 1))
    d_out, d_other = _digests(out), _digests(other)
    assert d_out.keys() == d_other.keys()
    for name in ("cohort.bed", "new_cohort.bed", "phenotype.tsv", "truth.json"):
        assert d_out[name] != d_other[name], name


def test_no_leftover_temporary_files(sim: tuple[Path, dict]) -> None:
    out, _ = sim
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            "cohort.bed",
            "cohort.bim",
            "cohort.fam",
            "phenotype.tsv",
            "covariates.tsv",
            "groups.tsv",
            "oracle.tsv",
            "new_cohort.bed",
            "new_cohort.bim",
            "new_cohort.fam",
            "new_cohort_phenotype.tsv",
            "new_cohort_covariates.tsv",
            "new_cohort_groups.tsv",
            "new_cohort_oracle.tsv",
            "truth.json",
        ]
    )


# ----------------------------------------------------------------------------- shapes and ids
def test_fileset_shapes_ids_and_tables(sim: tuple[Path, dict], train: dict) -> None:
    out, truth = sim
    n, m = SMALL.n_samples, SMALL.n_snps
    bim, fam = train["bim"], train["fam"]
    assert train["g"].shape == (n, m) and train["g"].dtype == np.int8
    assert fam.IID.is_unique and fam.FID.is_unique and bim.SNP.is_unique
    assert fam.IID.str.fullmatch(r"IND\d{4}").all() and fam.FID.str.fullmatch(r"FAM\d{4}").all()
    assert bim.SNP.str.fullmatch(r"rs\d+").all()
    assert set(fam.SEX) == {1, 2} and (fam.PHENO == "-9").all()
    # chromosomes 1..K in order, positions increasing within each, realistic spacing
    assert list(pd.unique(bim.CHR)) == [str(c) for c in range(1, SMALL.n_chromosomes + 1)]
    for _, b in bim.groupby("CHR"):
        gaps = np.diff(b.POS.to_numpy())
        assert gaps.min() >= 5_000 and gaps.max() <= 20_000
    assert (bim.A1 != bim.A2).all() and set(bim.A1) | set(bim.A2) <= set("ACGT")
    ambiguous = np.array([{a, b} in ({"A", "T"}, {"C", "G"}) for a, b in zip(bim.A1, bim.A2)])
    assert 0.10 < ambiguous.mean() < 0.20

    pheno = pd.read_csv(out / "phenotype.tsv", sep="\t", dtype={"FID": str, "IID": str})
    covar = pd.read_csv(out / "covariates.tsv", sep="\t", dtype={"FID": str, "IID": str})
    groups = pd.read_csv(out / "groups.tsv", sep="\t", dtype={"FID": str, "IID": str})
    assert list(pheno.columns) == ["FID", "IID", "case_control", "quantitative", "three_class"]
    assert list(covar.columns) == ["FID", "IID", "sex", "age"]
    assert list(groups.columns) == ["FID", "IID", "ancestry", "sex"]
    for df in (pheno, covar, groups):
        assert df.IID.tolist() == fam.IID.tolist() and df.FID.tolist() == fam.FID.tolist()
    raw_cc = (out / "phenotype.tsv").read_text().splitlines()[1:]
    n_na = sum(line.split("\t")[2] == "NA" for line in raw_cc)
    assert n_na == truth["case_control"]["n_missing"]["training"] and 0 < n_na <= 0.03 * n
    assert set(pheno.case_control.dropna()) == {0, 1}
    assert 0.25 < pheno.case_control.mean() < 0.45
    assert pheno.quantitative.dtype == float and pheno.quantitative.std() > 5
    counts = pheno.three_class.value_counts(normalize=True)
    assert set(counts.index) == set(THREE_CLASS_LABELS) and counts.min() > 0.15
    assert (covar.sex == fam.SEX - 1).all()
    assert (groups.sex == np.where(fam.SEX == 2, "female", "male")).all()
    assert covar.age.between(18, 90).all() and 45 < covar.age.mean() < 65
    assert 0.15 < (groups.ancestry == "pop_b").mean() < 0.35 and set(groups.ancestry) == {"pop_a", "pop_b"}

    new_fam = io.read_fam(out / "new_cohort")
    assert len(new_fam) == SMALL.n_new and new_fam.IID.str.fullmatch(r"NEW\d{4}").all()
    assert not set(new_fam.IID) & set(fam.IID) and not set(new_fam.FID) & set(fam.FID)
    new_pheno = pd.read_csv(out / "new_cohort_phenotype.tsv", sep="\t", dtype={"FID": str, "IID": str})
    assert new_pheno.IID.tolist() == new_fam.IID.tolist()


# ----------------------------------------------------------------------------- genotype realism
def test_missing_rates(sim: tuple[Path, dict], train: dict) -> None:
    _, truth = sim
    miss = train["g"] == -1
    clean = miss[~train["bad_samples"]][:, ~train["bad_snps"]]
    assert 0.0035 < clean.mean() < 0.0065
    per_bad_sample = miss[train["bad_samples"]].mean(axis=1)
    assert len(per_bad_sample) == 10 and (per_bad_sample > 0.08).all() and (per_bad_sample < 0.33).all()
    hm = train["bim"].SNP.isin(truth["bad_snps"]["high_missing"]).to_numpy()
    assert (miss[:, hm].mean(axis=0) > 0.08).all()
    assert miss[~train["bad_samples"]].mean(axis=1).max() < 0.03


def test_maf_spectrum_has_rare_and_common(train: dict) -> None:
    f = _freq(train["g"][:, ~train["bad_snps"]])
    maf = np.minimum(f, 1 - f)
    assert 0.10 < (maf < 0.01).mean() < 0.40  # a good share of rare variants
    assert (maf >= 0.05).mean() > 0.5
    assert (maf == 0).mean() < 0.15


def test_ld_adjacent_snps_correlated_far_ones_not(train: dict) -> None:
    g, bim = train["g"], train["bim"]
    f = _freq(g)
    common = (np.minimum(f, 1 - f) > 0.1) & ~train["bad_snps"]
    x = _standardize(g[:, common])
    chrom = bim.CHR.to_numpy()[common]
    adjacent = np.abs((x[:, :-1] * x[:, 1:]).mean(axis=0))[chrom[:-1] == chrom[1:]]
    lag = 200
    far = np.abs((x[:, :-lag] * x[:, lag:]).mean(axis=0))[chrom[:-lag] == chrom[lag:]]
    assert adjacent.mean() > 0.25
    assert far.mean() < 0.08
    assert adjacent.mean() > 4 * far.mean()


def test_ancestry_allele_frequency_differences(sim: tuple[Path, dict], train: dict) -> None:
    out, _ = sim
    groups = pd.read_csv(out / "groups.tsv", sep="\t")
    pop_b = (groups.ancestry == "pop_b").to_numpy()
    g = train["g"][:, ~train["bad_snps"]]
    f = _freq(g)
    common = np.minimum(f, 1 - f) > 0.05
    diff = np.abs(_freq(g[pop_b]) - _freq(g[~pop_b]))[common].mean()
    perm = np.random.default_rng(0).permutation(pop_b)
    diff_null = np.abs(_freq(g[perm]) - _freq(g[~perm]))[common].mean()
    assert diff > 2 * diff_null and diff > 0.06


# ----------------------------------------------------------------------------- truth and phenotypes
def test_truth_contents_and_oracle(sim: tuple[Path, dict], train: dict) -> None:
    out, truth = sim
    assert io.read_json(out / "truth.json") == truth
    assert truth["seed"] == SMALL.seed and truth["parameters"]["n_snps"] == SMALL.n_snps
    cc = truth["case_control"]
    for cohort in ("training", "new"):
        assert 0.75 < cc["oracle_auc"][cohort] < 0.95
        assert 0.25 < cc["case_fraction"][cohort] < 0.45
        assert 0.25 < truth["quantitative"]["oracle_r2"][cohort] < 0.7
    assert len(cc["causal"]) == SMALL.n_causal
    assert cc["group_shift"]["pop_b"] > 0 and set(cc["covariate_effects"]) >= {"sex", "age_per_year"}
    bim = train["bim"].set_index("SNP")
    for row in cc["causal"]:
        assert row["effect_allele"] == bim.loc[row["snp"], "A1"]
        assert 0.05 <= min(row["freq_ancestral"], 1 - row["freq_ancestral"])
    shared = {r["snp"] for r in cc["causal"]} & {r["snp"] for r in truth["quantitative"]["causal"]}
    assert len(shared) == SMALL.n_causal // 2
    bad = set().union(*(truth["bad_snps"][k] for k in ("high_missing", "low_maf", "hwe")))
    assert not bad & set(truth["causal_snps"])
    assert len(truth["bad_samples"]) == 10


def _oracle_from_files(out: Path, truth: dict, prefix: str, tables: str, train_bim: pd.DataFrame) -> float:
    """AUC of the case/control liability rebuilt from the written files and truth.json only."""
    bim = io.read_bim(out / prefix)
    where = {snp: k for k, snp in enumerate(bim.SNP)}
    train_a1 = train_bim.set_index("SNP").A1
    cc = truth["case_control"]
    idx = [where[r["snp"]] for r in cc["causal"]]
    g = io.read_genotypes(out / prefix, variant_idx=idx).astype(float)  # pandas-plink engine
    g[g < 0] = np.nan
    for k, r in enumerate(cc["causal"]):
        if bim.A1.iloc[idx[k]] != r["effect_allele"]:  # swapped in this fileset: count the other allele
            assert bim.A2.iloc[idx[k]] == r["effect_allele"] == train_a1[r["snp"]]
            g[:, k] = 2 - g[:, k]
    g = np.where(np.isnan(g), np.nanmean(g, axis=0), g)
    genetic = g @ np.array([r["effect"] for r in cc["causal"]]) - cc["genetic_centre"]
    covar = pd.read_csv(out / f"{tables}covariates.tsv", sep="\t")
    groups = pd.read_csv(out / f"{tables}groups.tsv", sep="\t")
    pheno = pd.read_csv(out / f"{tables}phenotype.tsv", sep="\t")
    eff = cc["covariate_effects"]
    liability = (
        genetic
        + cc["group_shift"]["pop_b"] * (groups.ancestry == "pop_b").to_numpy()
        + eff["sex"] * covar.sex.to_numpy()
        + eff["age_per_year"] * (covar.age.to_numpy() - eff["age_centre"])
    )
    ok = pheno.case_control.notna().to_numpy()
    return _auc(liability[ok], pheno.case_control.to_numpy()[ok].astype(int))


def test_oracle_rebuilt_from_files_matches_truth(sim: tuple[Path, dict], train: dict) -> None:
    out, truth = sim
    auc_train = _oracle_from_files(out, truth, "cohort", "", train["bim"])
    auc_new = _oracle_from_files(out, truth, "new_cohort", "new_cohort_", train["bim"])
    assert abs(auc_train - truth["case_control"]["oracle_auc"]["training"]) < 0.01
    assert abs(auc_new - truth["case_control"]["oracle_auc"]["new"]) < 0.015


# ----------------------------------------------------------------------------- new cohort
def test_new_cohort_shuffled_swapped_and_absent(sim: tuple[Path, dict], train: dict) -> None:
    out, truth = sim
    info = truth["new_cohort"]
    bim = train["bim"]
    new_bim = io.read_bim(out / "new_cohort")
    m = SMALL.n_snps
    absent, swapped = set(info["absent_snps"]), set(info["swapped_snps"])
    assert len(absent) == round(0.02 * m) and len(swapped) == round(0.10 * m)
    assert set(new_bim.SNP) == set(bim.SNP) - absent and new_bim.SNP.is_unique
    assert not swapped & absent and not absent & set(truth["causal_snps"])
    # shuffled, but each chromosome kept together (PLINK rejects split chromosomes)
    assert new_bim.SNP.tolist() != [s for s in bim.SNP if s not in absent]
    runs = new_bim.CHR.to_numpy()
    assert len(pd.unique(runs)) == (np.diff(runs.astype(int)) != 0).sum() + 1
    # alleles: swapped SNPs reversed, the others identical
    merged = new_bim.merge(bim, on="SNP", suffixes=("_new", ""))
    is_sw = merged.SNP.isin(swapped).to_numpy()
    assert (merged.A1_new.to_numpy()[is_sw] == merged.A2.to_numpy()[is_sw]).all()
    assert (merged.A2_new.to_numpy()[is_sw] == merged.A1.to_numpy()[is_sw]).all()
    assert (merged.A1_new.to_numpy()[~is_sw] == merged.A1.to_numpy()[~is_sw]).all()
    assert (merged[["CHR_new", "POS_new"]].to_numpy() == merged[["CHR", "POS"]].to_numpy()).all()

    # genotypes: undo the shuffle and the swaps, then frequencies match the training cohort's
    g_new = io.read_genotypes(out / "new_cohort")  # pandas-plink engine
    where = {snp: k for k, snp in enumerate(new_bim.SNP)}
    keep = ~bim.SNP.isin(absent).to_numpy()
    cols = [where[s] for s in bim.SNP[keep]]
    g_aligned = g_new[:, cols]
    flip = bim.SNP[keep].isin(swapped).to_numpy()
    raw = g_aligned.copy()
    g_aligned[:, flip] = np.where(raw[:, flip] >= 0, 2 - raw[:, flip], -1)
    f_train = _freq(train["g"][:, keep])
    f_new, f_raw = _freq(g_aligned), _freq(raw)
    ok = ~train["bad_snps"][keep]
    assert np.abs(f_new - f_train)[ok & flip].mean() < 0.05
    assert np.abs(f_raw - f_train)[ok & flip].mean() > 0.15
    assert np.corrcoef(f_new[ok], f_train[ok])[0, 1] > 0.97
    assert 0.0035 < (g_aligned[:, ok] == -1).mean() < 0.0065
    # LD survives the realignment
    common = ok & (np.minimum(f_train, 1 - f_train) > 0.1)
    x = _standardize(g_aligned[:, common])
    assert np.abs((x[:, :-1] * x[:, 1:]).mean(axis=0)).mean() > 0.25


# ----------------------------------------------------------------------------- plink2
@needs_plink2
def test_plink2_accepts_both_filesets(sim: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = sim
    for prefix in ("cohort", "new_cohort"):
        res = _plink(["--bfile", str(out / prefix), "--freq", "--out", str(tmp_path / prefix)], tmp_path)
        assert res.returncode == 0, res.stdout + res.stderr
        afreq = pd.read_csv(tmp_path / f"{prefix}.afreq", sep="\t")
        assert len(afreq) == len(io.read_bim(out / prefix))


@needs_plink2
def test_plink2_qc_removes_the_bad_samples_and_snps(sim: tuple[Path, dict], tmp_path: Path) -> None:
    out, truth = sim
    prefix = out / "cohort"
    all_ids = set(io.read_fam(prefix).IID)
    all_snps = set(io.read_bim(prefix).SNP)
    bad_ids = {d["IID"] for d in truth["bad_samples"]}

    kept_ids, _ = _plink_kept(prefix, ["--mind", "0.05"], tmp_path)
    assert all_ids - kept_ids == bad_ids

    bad = truth["bad_snps"]
    _, kept = _plink_kept(prefix, ["--geno", "0.05"], tmp_path)
    assert all_snps - kept == set(bad["high_missing"])

    _, kept = _plink_kept(prefix, ["--maf", "0.01"], tmp_path)
    removed = all_snps - kept
    assert set(bad["low_maf"]) <= removed
    assert not removed & set(bad["high_missing"])

    _, kept = _plink_kept(prefix, ["--hwe", "1e-6"], tmp_path)
    removed = all_snps - kept
    assert set(bad["hwe"]) <= removed
    # others fail only through the two-population (Wahlund) structure: few of them
    assert len(removed - set(bad["hwe"])) < 0.03 * len(all_snps)


# ----------------------------------------------------------------------------- CLI, options, errors
def test_cli_and_no_new_cohort(tmp_path: Path) -> None:
    rc = main(
        ["--out", str(tmp_path / "cli"), "--n-samples", "150", "--n-snps", "1000", "--n-new", "0", "--seed", "3", "-q"]
    )
    assert rc == 0
    truth = io.read_json(tmp_path / "cli" / "truth.json")
    assert truth["parameters"]["n_samples"] == 150 and truth["new_cohort"] is None
    assert not list((tmp_path / "cli").glob("new_cohort*"))
    assert len(io.read_fam(tmp_path / "cli" / "cohort")) == 150
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "bad"), "--n-samples", "10"])


# ----------------------------------------------------------------------------- SimulationSpec
@pytest.mark.parametrize(
    "kw,field",
    [
        ({"n_samples": 50}, "n_samples"),
        ({"n_snps": 100}, "n_snps"),
        ({"n_chromosomes": 23}, "n_chromosomes"),
        ({"n_chromosomes": 0}, "n_chromosomes"),
        ({"n_snps": 3000, "n_chromosomes": 40}, "n_chromosomes"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"fst": 0.0}, "fst"),
        ({"fst": 1.0}, "fst"),
        ({"frac_pop_b": 1.0}, "frac_pop_b"),
        ({"n_new": -1}, "n_new"),
        ({"n_causal": 1}, "n_causal"),
        ({"missing_rate": 0.05}, "missing_rate"),
        ({"n_bad_samples": 41}, "n_bad_samples"),  # > n_samples / 10
        ({"n_bad_snps": 101}, "n_bad_snps"),  # > n_snps / 30
        ({"prevalence": 0.0}, "prevalence"),
        ({"h2": 0.9}, "h2"),
        ({"h2_quantitative": 0.0}, "h2_quantitative"),
        ({"h2_three_class": -0.1}, "h2_three_class"),
        ({"case_missing_rate": 0.5}, "case_missing_rate"),
        ({"frac_ambiguous": 0.5}, "frac_ambiguous"),
        ({"frac_swapped": -0.1}, "frac_swapped"),
        ({"frac_absent": 0.6}, "frac_absent"),
        ({"chunk_snps": 0}, "chunk_snps"),
        ({"architecture": "dominant"}, "architecture"),
        ({"interaction_share": 0.4}, "interaction_share"),  # epistatic only
        ({"architecture": "additive", "n_pairs": 3}, "n_pairs"),
        ({"architecture": "epistatic", "interaction_share": 1.0}, "interaction_share"),
        ({"architecture": "epistatic", "n_pairs": 11}, "n_pairs"),  # > n_causal // 2
        ({"architecture": "sparse", "n_causal": 60}, "n_causal"),
    ],
)
def test_spec_rejects_impossible_values_naming_the_field(kw: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{field}="):
        replace(SMALL, **kw)


def test_spec_defaults_resolve_and_it_is_frozen() -> None:
    spec = SimulationSpec()
    assert (spec.n_samples, spec.n_snps, spec.n_new, spec.seed) == (2000, 20000, 500, 42)
    assert not spec.extended and spec.effective_architecture == "additive" and spec.effective_n_causal == 40
    assert spec.effective_interaction_share is None and spec.effective_n_pairs is None
    assert SimulationSpec(architecture="sparse").effective_n_causal == 10
    epi = SimulationSpec(architecture="epistatic", n_causal=12)
    assert (epi.effective_interaction_share, epi.effective_n_pairs) == (0.4, 6)
    assert issubclass(ConfigError, ValueError)
    with pytest.raises(FrozenInstanceError):
        spec.seed = 1  # type: ignore[misc]
    with pytest.raises(TypeError):  # keyword-only, and unknown settings are refused
        SimulationSpec(2000)  # type: ignore[misc]
    with pytest.raises(TypeError):
        SimulationSpec(n_sample=100)  # type: ignore[call-arg]
    assert SimulationSpec.from_dict({"n_samples": 300, "seed": 3}) == SimulationSpec(n_samples=300, seed=3)
    with pytest.raises(ConfigError, match="n_sample"):
        SimulationSpec.from_dict({"n_sample": 300})


def test_truth_parameters_keep_the_layout_of_earlier_releases() -> None:
    legacy = SMALL.truth_parameters()
    assert list(legacy) == [
        "n_samples", "n_snps", "n_chromosomes", "n_new", "n_causal", "seed", "fst", "frac_pop_b", "missing_rate",
        "n_bad_samples", "n_bad_snps", "prevalence", "h2", "h2_quantitative", "h2_three_class", "group_shift",
        "case_missing_rate", "frac_ambiguous", "frac_swapped", "frac_absent",
    ]
    epi = replace(SMALL, architecture="epistatic").truth_parameters()
    assert list(epi)[4:8] == ["n_causal", "architecture", "interaction_share", "n_pairs"]
    assert (epi["architecture"], epi["interaction_share"], epi["n_pairs"]) == ("epistatic", 0.4, 10)
    assert "chunk_snps" not in epi


def test_simulate_cohort_takes_a_spec_only(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        simulate_cohort(tmp_path / "kw", **asdict(SMALL))  # type: ignore[call-arg]  # the keyword form is gone
    with pytest.raises(TypeError, match="must be a SimulationSpec"):
        simulate_cohort(tmp_path / "dict", asdict(SMALL))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="n_samples"):
        simulate_cohort(tmp_path / "bad", SimulationSpec(n_samples=10))


# ----------------------------------------------------------------------------- io.BedWriter
def test_bedwriter_matches_write_bed_and_is_atomic(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    g = rng.integers(-1, 3, size=(13, 50)).astype(np.int8)
    bim = pd.DataFrame(
        {"CHR": "1", "SNP": [f"s{i}" for i in range(50)], "CM": 0, "POS": np.arange(1, 51), "A1": "A", "A2": "G"}
    )
    fam = pd.DataFrame(
        {
            "FID": [f"f{i}" for i in range(13)],
            "IID": [f"i{i}" for i in range(13)],
            "PAT": 0,
            "MAT": 0,
            "SEX": 1,
            "PHENO": -9,
        }
    )
    io.write_bed(tmp_path / "whole", g, bim, fam)
    with io.BedWriter(tmp_path / "blocks", 13) as w:
        for j in range(0, 50, 7):
            w.write_block(g[:, j : j + 7])
    assert w.n_variants == 50
    assert (tmp_path / "blocks.bed").read_bytes() == (tmp_path / "whole.bed").read_bytes()
    assert (io.read_genotypes(tmp_path / "whole", engine="lut") == g).all()
    with pytest.raises(KeyError), io.BedWriter(tmp_path / "failed", 13) as w:
        w.write_block(g[:, :3])
        raise KeyError("boom")
    with pytest.raises(ValueError), io.BedWriter(tmp_path / "failed", 13) as w:
        w.write_block(g[:5])
    with pytest.raises(ValueError), io.BedWriter(tmp_path / "failed", 13) as w:
        w.write_block(np.full((13, 2), 3, np.int8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocks.bed", "whole.bed", "whole.bim", "whole.fam"]


# ----------------------------------------------------------------------------- genetic architectures
# sha256 of every file of the SMALL cohort as genoml_core 0.2.0 wrote it (before the architecture
# options existed; truth.json without its genoml_core_version, canonical JSON). Checked stable across
# OpenBLAS thread counts and kernels (OPENBLAS_CORETYPE Prescott / Sandybridge / Haswell). numpy does
# not promise identical random streams across releases, so other versions skip the comparison.
_LEGACY_NUMPY_SCIPY = ("2.4", "1.17")
_LEGACY_SMALL_SHA256 = {
    "cohort.bed": "ff0c7e4dafb6d1aa6bbffedc4de8ed044fdc1b02688d529f171cf3271ff24416",
    "cohort.bim": "64fefef1370a2e8b38838b5a59c737a6d61375b85beb0558084c0a9041ffb842",
    "cohort.fam": "b69bc8202b370a1933394f562a9746d323ddcfdfb83b708ad0ba435c685fd0d6",
    "covariates.tsv": "ba1e1e12358a9a49edf906627288b9997ccd54959fa39d205b5950f1f7c3cc9f",
    "groups.tsv": "3c7c5b97f00ebb3dab07d5b09f6e742e94e4b0f63adbaa9a7e2fee7203f808c3",
    "new_cohort.bed": "5633e997c2402b1aee1c1accfd29a1bf9c2eb48cf47003bc404c938663728a20",
    "new_cohort.bim": "921f3243439d28c2e9c44d48d582815f45e1b2ad431fb2b358c3d5f1ee5f786b",
    "new_cohort.fam": "bb2e347075c3698d32d0122df9d74f8f656aedb80bc5e63c415a8eabd7a76e09",
    "new_cohort_covariates.tsv": "55eda380e22748f86875fd566885e9e858fcb165aa657fffd6c09c6d745098f4",
    "new_cohort_groups.tsv": "505199bc29fa3f35e8cd6d6c69693ef3e65370ff1fb698263e7a9719f2b979ab",
    "new_cohort_oracle.tsv": "b914e32f1c15769571d84b33bbc78fd97c693251ca52a0da3be28e4b69699334",
    "new_cohort_phenotype.tsv": "a7e9a206dc0ddcf3784ea73e61cb1d10c8e30b07912c4bb79c71150086440690",
    "oracle.tsv": "ba56cf8977429d971f8f3ac0b999ef7b47401c237fe181e4d9fe8a90c283542d",
    "phenotype.tsv": "e9b341d609dbf2fca404d50bc47f33c023619393016b262d32b9aa29480fd6b4",
    "truth.json": "be9b70201a8d22c1d69c743b8dc7b28f4552751b621676d412ac54096a39ce4a",
}


def _legacy_digests(folder: Path) -> dict[str, str]:
    out = _digests(folder)
    truth = json.loads((folder / "truth.json").read_text())
    truth.pop("genoml_core_version")  # bumped by every release; not part of the simulation
    out["truth.json"] = hashlib.sha256(json.dumps(truth, sort_keys=True).encode()).hexdigest()
    return out


def test_defaults_byte_identical_to_before_the_architecture_options(sim: tuple[Path, dict]) -> None:
    import scipy

    versions = (".".join(np.__version__.split(".")[:2]), ".".join(scipy.__version__.split(".")[:2]))
    if versions != _LEGACY_NUMPY_SCIPY:
        pytest.skip(f"reference hashes made with numpy/scipy {_LEGACY_NUMPY_SCIPY}, running {versions}")
    out, truth = sim
    assert _legacy_digests(out) == _LEGACY_SMALL_SHA256
    assert "architecture" not in truth and "architecture" not in truth["parameters"]


def test_naming_additive_changes_no_data_only_adds_fields(sim: tuple[Path, dict], tmp_path: Path) -> None:
    out, legacy = sim
    truth = simulate_cohort(tmp_path, replace(SMALL, architecture="additive"))
    d_legacy, d_new = _digests(out), _digests(tmp_path)
    assert d_legacy.keys() == d_new.keys()
    assert {k for k in d_new if d_new[k] != d_legacy[k]} == {"truth.json", "oracle.tsv", "new_cohort_oracle.tsv"}
    for name in ("oracle.tsv", "new_cohort_oracle.tsv"):
        old = pd.read_csv(out / name, sep="\t", dtype={"FID": str, "IID": str})
        new = pd.read_csv(tmp_path / name, sep="\t", dtype={"FID": str, "IID": str})
        pd.testing.assert_frame_equal(new[old.columns], old)
        assert list(new.columns) == [*old.columns, "three_class_liability"]
    assert truth["architecture"]["name"] == "additive" and truth["parameters"]["architecture"] == "additive"
    for key in ("case_control", "quantitative", "three_class"):
        assert truth[key]["causal"] == legacy[key]["causal"]
        assert truth[key]["architecture"] == {"name": "additive", "n_causal": SMALL.n_causal}
    assert truth["case_control"]["oracle_auc"] == legacy["case_control"]["oracle_auc"]


def test_sparse_has_exactly_ten_large_causal_snps(tmp_path: Path) -> None:
    truth = simulate_cohort(tmp_path, replace(SMALL, n_causal=None, architecture="sparse"))
    assert truth["parameters"]["n_causal"] == 10 and truth["architecture"]["n_causal"] == 10
    for key in ("case_control", "quantitative", "three_class"):
        causal = truth[key]["causal"]
        assert len(causal) == 10 and len({r["snp"] for r in causal}) == 10
        size = np.abs([r["effect_std"] for r in causal])
        assert np.allclose(size, size[0], rtol=1e-4)  # equal large effects ...
        assert size[0] > 0.15  # ... each ~ sqrt(h2 / 10) = 0.2 SD of liability per SD of genotype
    cc = {r["snp"] for r in truth["case_control"]["causal"]}
    assert len(cc & {r["snp"] for r in truth["quantitative"]["causal"]}) == 5
    assert set(truth["causal_snps"]) >= cc
    assert truth["case_control"]["oracle_auc"]["new"] > 0.75


def _training_dosages(out: Path, snps: list[str], expected_a1: list[str]) -> np.ndarray:
    """Training genotypes (float, NaN missing) of ``snps``, as counts of ``expected_a1``."""
    bim = io.read_bim(out / "cohort")
    where = {s: k for k, s in enumerate(bim.SNP)}
    idx = [where[s] for s in snps]
    assert bim.A1.to_numpy()[idx].tolist() == expected_a1
    g = io.read_genotypes(out / "cohort", variant_idx=idx).astype(float)
    g[g < 0] = np.nan
    return g


@pytest.mark.parametrize("share", [0.4, 0.3])
def test_epistatic_interaction_share_of_genetic_variance(tmp_path: Path, share: float) -> None:
    spec = replace(SMALL, n_causal=30, architecture="epistatic", interaction_share=share)
    truth = simulate_cohort(tmp_path, spec)
    for key, h in (("case_control", 0.4), ("quantitative", 0.4), ("three_class", 0.4)):
        arch = truth[key]["architecture"]
        pairs = arch["interactions"]
        assert arch["n_pairs"] == len(pairs) == 10 and arch["interaction_share_requested"] == share
        causal = {r["snp"] for r in truth[key]["causal"]}
        members = [s for r in pairs for s in (r["snp_a"], r["snp_b"])]
        assert len(set(members)) == 20 and set(members) <= causal  # distinct causal SNPs
        # rebuild both parts from the written training genotypes and the truth alone
        cc = truth[key]["causal"]
        g = _training_dosages(tmp_path, [r["snp"] for r in cc], [r["effect_allele"] for r in cc])
        g = np.where(np.isnan(g), np.nanmean(g, axis=0), g)
        additive = g @ np.array([r["effect"] for r in cc]) - truth[key]["genetic_centre"]
        ga = _training_dosages(tmp_path, [r["snp_a"] for r in pairs], [r["effect_allele_a"] for r in pairs])
        gb = _training_dosages(tmp_path, [r["snp_b"] for r in pairs], [r["effect_allele_b"] for r in pairs])
        za = (ga - [r["centre_a"] for r in pairs]) / np.array([r["scale_a"] for r in pairs])
        zb = (gb - [r["centre_b"] for r in pairs]) / np.array([r["scale_b"] for r in pairs])
        inter = np.nan_to_num(za * zb) @ np.array([r["effect"] for r in pairs])
        v_add, v_int = additive.var(), inter.var()
        assert abs(v_int / (v_add + v_int) - share) < 0.02, (key, v_int / (v_add + v_int))
        assert abs(v_add + v_int - h) < 0.03
        assert abs(arch["interaction_share_training"] - share) < 1e-6
        # interactions carry (almost) no marginal additive signal: the additive part does not explain them
        assert np.corrcoef(additive, inter)[0, 1] ** 2 < 0.05


def test_epistatic_oracle_uses_the_full_liability(tmp_path: Path) -> None:
    truth = simulate_cohort(
        tmp_path, replace(SMALL, n_causal=30, architecture="epistatic", interaction_share=0.5)
    )
    cc = truth["case_control"]
    oracle = pd.read_csv(tmp_path / "oracle.tsv", sep="\t", dtype={"FID": str, "IID": str})
    pheno = pd.read_csv(tmp_path / "phenotype.tsv", sep="\t", dtype={"FID": str, "IID": str})
    ok = pheno.case_control.notna().to_numpy()
    y = pheno.case_control.to_numpy()[ok].astype(int)
    full = oracle.case_control_liability.to_numpy()[ok]
    assert abs(_auc(full, y) - cc["oracle_auc"]["training"]) < 1e-3
    # the additive part alone (rebuilt from the causal table) ranks people worse than the oracle
    g = _training_dosages(tmp_path, [r["snp"] for r in cc["causal"]], [r["effect_allele"] for r in cc["causal"]])
    g = np.where(np.isnan(g), np.nanmean(g, axis=0), g)
    additive = (g @ np.array([r["effect"] for r in cc["causal"]]))[ok]
    assert _auc(full, y) > _auc(additive, y) + 0.03
    # quantitative: the noise-free value includes the interactions too
    assert truth["quantitative"]["oracle_r2"]["training"] > 0.3


def test_oracle_higher_for_higher_h2(tmp_path: Path) -> None:
    res = {}
    for h in (0.1, 0.6):
        res[h] = simulate_cohort(
            tmp_path / str(h), replace(SMALL, architecture="additive", h2=h, h2_quantitative=h, h2_three_class=h)
        )
    for cohort in ("training", "new"):
        lo, hi = res[0.1], res[0.6]
        assert hi["case_control"]["oracle_auc"][cohort] > lo["case_control"]["oracle_auc"][cohort] + 0.05
        assert hi["quantitative"]["oracle_r2"][cohort] > lo["quantitative"]["oracle_r2"][cohort] + 0.2
        assert hi["three_class"]["oracle_macro_auc"][cohort] > lo["three_class"]["oracle_macro_auc"][cohort] + 0.05


def test_three_class_oracle_from_files(tmp_path: Path) -> None:
    truth = simulate_cohort(tmp_path, replace(SMALL, architecture="additive"))
    t = truth["three_class"]
    for prefix, cohort in (("", "training"), ("new_cohort_", "new")):
        oracle = pd.read_csv(tmp_path / f"{prefix}oracle.tsv", sep="\t")
        pheno = pd.read_csv(tmp_path / f"{prefix}phenotype.tsv", sep="\t")
        prob = three_class_probabilities(oracle.three_class_liability, t["thresholds"], t["noise_sd"])
        assert prob.shape == (len(oracle), 3) and np.allclose(prob.sum(axis=1), 1.0) and (prob >= 0).all()
        label = pheno.three_class.map({c: k for k, c in enumerate(THREE_CLASS_LABELS)}).to_numpy()
        macro = np.mean([_auc(prob[:, k], (label == k).astype(int)) for k in range(3)])
        assert abs(macro - t["oracle_macro_auc"][cohort]) < 1e-3
        # the most probable class is right far more often than chance
        assert (prob.argmax(axis=1) == label).mean() > 0.5
    with pytest.raises(ValueError):
        three_class_probabilities([0.0], [1.0, -1.0], 1.0)


def test_cli_architecture_and_ancestry_options(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    argv = ["--out", str(out), "--n-samples", "300", "--n-snps", "2000", "--n-chromosomes", "2", "--n-new", "60",
            "--seed", "5", "--architecture", "epistatic", "--n-causal", "12", "--interaction-share", "0.35",
            "--n-pairs", "4", "--h2", "0.5", "--frac-pop-b", "0.5", "--fst", "0.15", "-q"]
    assert main(argv) == 0
    truth = io.read_json(out / "truth.json")
    p = truth["parameters"]
    assert (p["architecture"], p["n_causal"], p["interaction_share"], p["n_pairs"]) == ("epistatic", 12, 0.35, 4)
    assert p["h2"] == 0.5 and p["fst"] == 0.15 and p["frac_pop_b"] == 0.5
    assert truth["case_control"]["architecture"]["n_pairs"] == 4
    counts = truth["populations"]["counts_training"]
    assert 0.4 < counts["pop_b"] / 300 < 0.6
    with pytest.raises(SystemExit):  # interaction share without the epistatic architecture
        main(["--out", str(tmp_path / "bad"), "--interaction-share", "0.3"])
