"""Ancestry PCs (genoml_core.genotypes.pca): fitted on training samples only (our own decomposition, checked
against plink2 --pca), projected for everyone on the same axes, new cohorts harmonized (swapped
alleles, shuffled and absent SNPs) first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genoml_core import io, predict
from genoml_core.genotypes import pca
from genoml_core.errors import InputError
from genoml_core.genotypes.plink import write_keep
from genoml_core.genotypes.pca.fit import _use_approx
from genoml_core.predict.plan import _project_pcs
from genoml_core.simulate import SimulationSpec, simulate_cohort
from tests.conftest import needs_plink

pytestmark = needs_plink


@pytest.fixture(scope="module")
def two_pops(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """300 people of two ancestries (Fst 0.15) x 2,000 SNPs; the first 240 train, the rest are 'test'."""
    d = tmp_path_factory.mktemp("two_pops")
    simulate_cohort(d, SimulationSpec(n_samples=300, n_snps=2000, n_chromosomes=2, n_new=60, seed=3, fst=0.15,
                                      frac_pop_b=0.5, n_bad_samples=0, n_bad_snps=0))
    fam = io.read_fam(d / "cohort")
    train, test = fam.iloc[:240][["FID", "IID"]], fam.iloc[240:][["FID", "IID"]]
    write_keep(train, d / "train.keep")
    (d / "all.snplist").write_text("\n".join(io.read_bim(d / "cohort").SNP) + "\n")
    fit = pca.fit_pca(str(d / "cohort"), d / "train.keep", d / "all.snplist", n_pcs=4)
    plink2 = pca.fit_pca(str(d / "cohort"), d / "train.keep", d / "all.snplist", n_pcs=4, engine="plink2")
    groups = pd.read_csv(d / "groups.tsv", sep="\t", dtype=str)
    return {"dir": d, "bfile": str(d / "cohort"), "train": train, "test": test, "fit": fit, "plink2": plink2,
            "groups": groups}


def test_projecting_the_training_samples_reproduces_their_fitted_pcs(two_pops):
    fit = two_pops["fit"]
    assert fit.summary["n_pcs"] == 4 and fit.summary["n_train"] == 240 and not fit.summary["approx"]
    assert fit.summary["engine"] == "numpy"
    projected = pca.project(two_pops["bfile"], two_pops["train"], fit.weights)
    # our own fit: the projection is the fitted PCs (Z V), up to the projection's per-person
    # rescaling for missing calls (about 1% of the calls here)
    both = projected.merge(fit.fitted, on=["FID", "IID"], suffixes=("", "_fit"))
    for c in pca.pc_names(4):
        assert np.allclose(both[c], both[f"{c}_fit"], rtol=0.05, atol=0.05 * both[c].std()), c
    assert min(pca.agreement(projected, fit.fitted)) > 0.999
    # plink2's eigenvectors: the same axes up to a scale per PC
    p2 = two_pops["plink2"]
    agree = pca.agreement(pca.project(two_pops["bfile"], two_pops["train"], p2.weights), p2.fitted)
    assert agree[0] > 0.999  # the ancestry axis
    assert min(agree) > 0.98  # noise PCs too (plink2 and the projection treat missing calls alike up to rounding)


def test_our_pcs_are_plink2s(two_pops):
    """The numpy engine's weights, frequencies and eigenvalues are plink2 --pca's (signs aside)."""
    ours, theirs = two_pops["fit"], two_pops["plink2"]
    assert list(ours.weights.SNP) == list(theirs.weights.SNP)
    np.testing.assert_allclose(ours.weights.FREQ, theirs.weights.FREQ, atol=1e-6)
    for name in pca.pc_names(4):
        assert abs(np.corrcoef(ours.weights[name], theirs.weights[name])[0, 1]) > 0.99, name
    np.testing.assert_allclose(ours.summary["eigenvalues"], theirs.summary["eigenvalues"], rtol=0.03)
    # each PC's largest weight is positive, so reruns (and other machines) give the same signs
    w = ours.weights[pca.pc_names(4)].to_numpy()
    assert (w[np.abs(w).argmax(axis=0), np.arange(4)] > 0).all()


def test_no_test_sample_enters_the_fit(two_pops, tmp_path):
    """Scrambling every test person's genotypes changes neither the weights nor anybody else's PCs."""
    d = two_pops["dir"]
    fam, bim = io.read_fam(d / "cohort"), io.read_bim(d / "cohort")
    g = next(io.iter_genotype_chunks(d / "cohort", np.arange(len(bim)), n_samples=len(fam),
                                     chunk_variants=len(bim)))[1].copy()
    rng = np.random.default_rng(0)
    g[240:] = rng.integers(0, 3, size=g[240:].shape).astype(np.int8)
    io.write_bed(tmp_path / "scrambled", g, bim, fam)
    other = pca.fit_pca(str(tmp_path / "scrambled"), d / "train.keep", d / "all.snplist", n_pcs=4)
    pd.testing.assert_frame_equal(other.weights, two_pops["fit"].weights)
    a = pca.project(two_pops["bfile"], two_pops["train"], two_pops["fit"].weights)
    b = pca.project(str(tmp_path / "scrambled"), two_pops["train"], other.weights)
    pd.testing.assert_frame_equal(a, b)


def test_pc1_separates_the_ancestries_of_people_outside_the_fit(two_pops):
    from sklearn.metrics import roc_auc_score

    test = pca.project(two_pops["bfile"], two_pops["test"], two_pops["fit"].weights)
    pop = test.merge(two_pops["groups"], on=["FID", "IID"]).ancestry == "pop_b"
    auc = roc_auc_score(pop, test.merge(two_pops["groups"], on=["FID", "IID"]).ancestry_PC1)
    assert max(auc, 1 - auc) > 0.99


def test_absent_snps_do_not_shrink_the_pcs(two_pops):
    """A cohort lacking 30% of the PCA SNPs keeps people on the training axes (rescaled per
    person); an absent SNP and a SNP whose calls are all missing are the same thing."""
    d, w = two_pops["dir"], two_pops["fit"].weights
    bim, fam = io.read_bim(d / "cohort"), io.read_fam(d / "cohort")
    idx = pd.Series(np.arange(len(bim)), index=bim.SNP).loc[w.SNP].to_numpy()
    g = next(io.iter_genotype_chunks(d / "cohort", idx, n_samples=len(fam), chunk_variants=len(idx)))[1]
    full = pca.project_counts(g, w)
    present = np.random.default_rng(1).random(len(w)) > 0.3
    g_absent = np.where(present, g, np.int8(-1))
    rescaled = pca.project_counts(g_absent, w)
    f = w.FREQ.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):  # monomorphic SNPs: weight 0
        x = np.nan_to_num(np.where(g_absent >= 0, g_absent - 2 * f, 0) / np.sqrt(2 * f * (1 - f)), posinf=0, neginf=0)
    naive = x @ w.filter(like=pca.PC_PREFIX).to_numpy()
    slope = lambda y: float(np.polyfit(full[:, 0], y[:, 0], 1)[0])  # noqa: E731
    assert slope(naive) < 0.85  # without the correction PC1 shrinks by about the share lost
    assert abs(slope(rescaled) - 1) < 0.05 and np.corrcoef(full[:, 0], rescaled[:, 0])[0, 1] > 0.99
    # the same people read through pca.project, chunk by chunk, with those SNPs missing
    chunked = pca.project(two_pops["bfile"], fam[["FID", "IID"]], w, chunk_variants=97)
    np.testing.assert_allclose(chunked.filter(like=pca.PC_PREFIX).to_numpy(), full, rtol=1e-9, atol=1e-9)


def test_a_new_cohort_is_harmonized_before_projection(two_pops, tmp_path):
    """The test people written as another cohort (SNPs shuffled, a third of the alleles swapped,
    renamed to chr:pos ids) get the PCs they get from the training file."""
    d, w = two_pops["dir"], two_pops["fit"].weights
    fam, bim = io.read_fam(d / "cohort"), io.read_bim(d / "cohort")
    g = next(io.iter_genotype_chunks(d / "cohort", np.arange(len(bim)), n_samples=len(fam),
                                     chunk_variants=len(bim)))[1][240:]
    rng = np.random.default_rng(2)
    order = rng.permutation(len(bim))
    new_bim, new_g = bim.iloc[order].reset_index(drop=True).copy(), g[:, order].copy()
    swap = rng.random(len(bim)) < 0.33
    new_bim.loc[swap, ["A1", "A2"]] = new_bim.loc[swap, ["A2", "A1"]].to_numpy()
    new_g[:, swap] = np.where(new_g[:, swap] >= 0, 2 - new_g[:, swap], -1)
    new_bim["SNP"] = [f"{c}:{p}" for c, p in zip(new_bim.CHR, new_bim.POS)]  # ids differ: matched by position
    new_fam = fam.iloc[240:].reset_index(drop=True)
    io.write_bed(tmp_path / "new", new_g, new_bim, new_fam)
    (tmp_path / "weights.tsv").write_text(w.to_csv(sep="\t", index=False))
    checked = predict.CheckedCohort(predict.Cohort(name="new", genotypes=str(tmp_path / "new")),
                                    io.read_fam(tmp_path / "new"),
                                    io.read_bim(tmp_path / "new"), {}, None, None)
    table, report = _project_pcs(tmp_path / "weights.tsv", checked, predict.PredictOptions(ambiguous_snps="keep"),
                                 swap_alleles=True)
    expected = pca.project(two_pops["bfile"], two_pops["test"], w)
    assert report["snps"]["used"] == len(w) and report["snps"]["matched_by_position"] == len(w)
    np.testing.assert_allclose(table.filter(like=pca.PC_PREFIX).to_numpy(),
                               expected.filter(like=pca.PC_PREFIX).to_numpy(), rtol=1e-9, atol=1e-9)


def test_too_few_samples_or_snps():
    assert pca.n_pcs_for(10, n_train=5, n_snps=1000) == 4
    assert pca.n_pcs_for(10, n_train=500, n_snps=3) == 2
    assert pca.n_pcs_for(10, n_train=500, n_snps=1000) == 10


def test_a_weights_file_is_checked(tmp_path: Path):
    (tmp_path / "w.tsv").write_text("SNP\tA1\nrs1\tA\n")
    with pytest.raises(Exception, match="not a PCA weights file"):
        pca.read_weights(tmp_path / "w.tsv")


def test_only_autosomes_enter_the_fit(two_pops, tmp_path):
    """X-chromosome dosages differ by sex: such SNPs get no PCA weight (either engine)."""
    import shutil

    d = two_pops["dir"]
    bim = io.read_bim(d / "cohort")
    bim.loc[bim.index[:200], "CHR"] = "X"
    for ext in ("bed", "fam"):
        shutil.copy(d / f"cohort.{ext}", tmp_path / f"c.{ext}")
    io.write_tsv(bim[io.BIM_COLUMNS], tmp_path / "c.bim", header=False)
    for engine in pca.ENGINES:
        fit = pca.fit_pca(str(tmp_path / "c"), d / "train.keep", d / "all.snplist", n_pcs=2, engine=engine)
        assert not set(fit.weights.SNP) & set(bim.SNP[:200]) and fit.summary["n_snps"] == len(bim) - 200


@pytest.mark.parametrize("engine", ["numpy", "plink2"])
def test_approximate_mode_gives_the_same_ancestry_axis(two_pops, engine):
    """The randomized SVD (numpy) and plink2 --pca approx, used above 5,000 training samples, find
    the exact fit's PC1; the randomized one is the same on a rerun with the same seed."""
    d = two_pops["dir"]
    fit = pca.fit_pca(str(d / "cohort"), d / "train.keep", d / "all.snplist", n_pcs=4, approx=True, engine=engine)
    assert fit.summary["approx"] and not two_pops["fit"].summary["approx"]
    a = pca.project(two_pops["bfile"], two_pops["test"], fit.weights).ancestry_PC1
    b = pca.project(two_pops["bfile"], two_pops["test"], two_pops["fit"].weights).ancestry_PC1
    assert abs(np.corrcoef(a, b)[0, 1]) > 0.99
    assert _use_approx("auto", pca.APPROX_ABOVE + 1) and not _use_approx("auto", pca.APPROX_ABOVE)
    if engine == "numpy":
        again = pca.fit_pca(str(d / "cohort"), d / "train.keep", d / "all.snplist", n_pcs=4, approx=True)
        pd.testing.assert_frame_equal(again.weights, fit.weights)


def test_autosomes_are_1_to_22():
    chrom = pd.Series(["1", "chr22", "22", "23", "X", "chrX", "MT", "0", "chr7"])
    assert pca.is_autosome(chrom).tolist() == [True, True, True, False, False, False, False, False, True]


def test_an_unknown_engine_or_sample_is_refused(two_pops, tmp_path):
    d = two_pops["dir"]
    with pytest.raises(ValueError, match="engine"):
        pca.fit_pca(two_pops["bfile"], d / "train.keep", d / "all.snplist", n_pcs=2, engine="eigensoft")
    keep = pd.concat([two_pops["train"], pd.DataFrame({"FID": ["nobody"], "IID": ["nobody"]})])
    write_keep(keep, tmp_path / "bad.keep")
    with pytest.raises(InputError, match=r"bad\.keep: 1 sample\(s\) not in .*cohort\.fam, e\.g\. FID='nobody'"):
        pca.fit_pca(two_pops["bfile"], tmp_path / "bad.keep", d / "all.snplist", n_pcs=2)


def test_a_projected_sample_absent_from_the_fam_is_named(two_pops):
    """``project`` raised a bare KeyError; now the fit's lookup: file, sample and fix."""
    stray = pd.DataFrame({"FID": ["F_x", two_pops["test"].FID.iloc[0]], "IID": ["I_x ", two_pops["test"].IID.iloc[0]]})
    with pytest.raises(InputError, match=r"split\.tsv: 1 sample\(s\) not in .*cohort\.fam, e\.g\. FID='F_x' IID='I_x '.*"
                                         r"whitespace.*check that FID and IID match the \.fam exactly"):
        pca.project(two_pops["bfile"], stray, two_pops["fit"].weights, samples_from="split.tsv")
    with pytest.raises(ValueError, match="the samples to project: 1 sample"):
        pca.project(two_pops["bfile"], stray, two_pops["fit"].weights)


def test_fam_rows_follow_the_order_given(two_pops):
    fam = io.read_fam(two_pops["bfile"])
    wanted = fam.iloc[[250, 3, 17]][["FID", "IID"]]
    assert pca.fam_rows(two_pops["bfile"], fam, wanted, source="x").tolist() == [250, 3, 17]
