"""Genotype inputs in PLINK 2, VCF/BCF and BGEN: told apart by their files, converted by real plink2
to the PLINK 1 fileset the workflow reads, with the same genotypes (hard calls at the threshold)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genoml_core import io
from genoml_core.config import genotype_conversions
from genoml_core.genotypes.formats import GenotypeFormatError, convert, needs_conversion, resolve
from genoml_core.simulate import SimulationSpec, simulate_cohort
from tests.conftest import needs_plink

pytestmark = needs_plink


def _plink(*args: str) -> None:
    subprocess.run([shutil.which("plink2"), *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def formats(tmp_path_factory: pytest.TempPathFactory) -> dict:
    d = tmp_path_factory.mktemp("formats")
    simulate_cohort(d, SimulationSpec(n_samples=120, n_snps=600, n_chromosomes=2, n_new=20, seed=9, n_bad_snps=5))
    b = str(d / "cohort")
    _plink("--bfile", b, "--make-pgen", "--out", str(d / "p"))
    _plink("--bfile", b, "--export", "vcf", "bgz", "id-delim=_", "--out", str(d / "v"))
    _plink("--bfile", b, "--export", "bgen-1.2", "--out", str(d / "g"))
    fam, bim = io.read_fam(b), io.read_bim(b)
    g = next(io.iter_genotype_chunks(b, np.arange(len(bim)), n_samples=len(fam), chunk_variants=len(bim)))[1]
    return {"dir": d, "bfile": b, "fam": fam, "bim": bim, "g": g}


def _genotypes(prefix: Path | str) -> pd.DataFrame:
    fam, bim = io.read_fam(prefix), io.read_bim(prefix)
    g = next(io.iter_genotype_chunks(prefix, np.arange(len(bim)), n_samples=len(fam), chunk_variants=len(bim)))[1]
    return fam, bim, g


def _same_genotypes(formats: dict, prefix: Path, *, by: str = "IID") -> None:
    """Same people, same variants, same A1 counts (allele order may differ: compared by allele)."""
    fam, bim, g = _genotypes(prefix)
    ref_fam, ref_bim, ref_g = formats["fam"], formats["bim"], formats["g"]
    rows = pd.Series(np.arange(len(ref_fam)), index=ref_fam[by]).loc[fam[by]].to_numpy()
    cols = pd.Series(np.arange(len(ref_bim)), index=ref_bim.SNP).loc[bim.SNP].to_numpy()
    expected = ref_g[np.ix_(rows, cols)]
    flip = (bim.A1.to_numpy() != ref_bim.A1.to_numpy()[cols])
    expected = np.where(flip[None, :] & (expected >= 0), 2 - expected, expected)
    assert len(fam) == len(ref_fam) and len(bim) == len(ref_bim)
    np.testing.assert_array_equal(g, expected)


@pytest.mark.parametrize("given,fmt", [("p", "plink2"), ("p.pgen", "plink2"), ("v.vcf.gz", "vcf"),
                                       ("g.bgen", "bgen"), ("cohort", "plink1"), ("cohort.bed", "plink1")])
def test_the_format_is_told_from_the_files(formats, given, fmt):
    src = resolve(str(formats["dir"] / given))
    assert src.format == fmt and all(Path(f).exists() for f in src.files)
    assert needs_conversion(src, {}) == (fmt != "plink1")


@pytest.mark.parametrize("given,options,by", [
    ("p", {}, "IID"),
    ("v.vcf.gz", {"vcf_id_delim": "_"}, "IID"),
    ("g.bgen", {}, "IID"),
])
def test_each_format_converts_to_the_same_genotypes(formats, tmp_path, given, options, by):
    src = resolve(str(formats["dir"] / given))
    report = convert(src, tmp_path / "out", {"hard_call_threshold": 0.1, **options})
    assert report["samples"] == len(formats["fam"]) and report["variants"] == len(formats["bim"])
    _same_genotypes(formats, tmp_path / "out", by=by)
    if src.format == "vcf":  # FID and IID split at the delimiter, as in the .fam the VCF came from
        fam = io.read_fam(tmp_path / "out")
        assert list(fam.FID) == list(formats["fam"].FID) and list(fam.IID) == list(formats["fam"].IID)


def test_vcf_ids_default_to_fid_equals_iid(formats, tmp_path):
    convert(resolve(str(formats["dir"] / "v.vcf.gz")), tmp_path / "out", {})
    fam = io.read_fam(tmp_path / "out")
    assert (fam.FID == fam.IID).all() and fam.IID.iloc[0] == f"{formats['fam'].FID.iloc[0]}_{formats['fam'].IID.iloc[0]}"


def test_keep_and_extract_subset_a_plink1_input(formats, tmp_path):
    keep = formats["fam"].iloc[:50][["FID", "IID"]]
    keep.to_csv(tmp_path / "keep.txt", sep="\t", header=False, index=False)
    (tmp_path / "extract.txt").write_text("\n".join(formats["bim"].SNP[:100]) + "\n")
    src = resolve(formats["bfile"])
    opts = {"keep": str(tmp_path / "keep.txt"), "extract": str(tmp_path / "extract.txt")}
    assert needs_conversion(src, opts)
    report = convert(src, tmp_path / "out", opts)
    assert report["samples"] == 50 and report["variants"] == 100
    fam, bim, g = _genotypes(tmp_path / "out")
    assert list(fam.IID) == list(keep.IID) and list(bim.SNP) == list(formats["bim"].SNP[:100])
    np.testing.assert_array_equal(g, formats["g"][:50, :100])


def test_uncertain_dosages_become_missing(tmp_path):
    """A dosage 0.6 from any call is missing at threshold 0.1 (not rounded to 1); 1.95 is a call."""
    vcf = tmp_path / "d.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=1>\n"
        '##FORMAT=<ID=DS,Number=A,Type=Float,Description="dosage">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\tc\n"
        "1\t100\trs1\tA\tG\t.\t.\t.\tDS\t0.6\t1.95\t0.02\n"
        "1\t200\trs2\tC\tT\t.\t.\t.\tDS\t1\t0\t2\n")
    convert(resolve(str(vcf)), tmp_path / "out", {"hard_call_threshold": 0.1})
    fam, bim, g = _genotypes(tmp_path / "out")
    alt = np.where(bim.A1.to_numpy() == np.array(["G", "T"]), 1, 0)  # 1 where A1 is the ALT allele
    ds = np.array([[0.6, 1.95, 0.02], [1, 0, 2]]).T
    expected = np.where(alt[None, :] == 1, np.rint(ds), 2 - np.rint(ds))
    expected[0, 0] = -1
    np.testing.assert_array_equal(g, expected.astype(np.int8))


def test_unknown_or_incomplete_inputs_are_refused_with_the_fix(formats, tmp_path):
    with pytest.raises(GenotypeFormatError, match=r"no genotype files at .*nothing.*\.bed/\.bim/\.fam"):
        resolve(str(tmp_path / "nothing"))
    shutil.copy(formats["dir"] / "g.bgen", tmp_path / "alone.bgen")
    with pytest.raises(GenotypeFormatError, match=r"alone\.sample.*data\.sample"):
        resolve(str(tmp_path / "alone.bgen"))
    for ext in (".bed", ".bim", ".fam", ".pgen", ".pvar", ".psam"):
        (tmp_path / f"both{ext}").write_text("")
    with pytest.raises(GenotypeFormatError, match=r"both a PLINK 1.*and a PLINK 2"):
        resolve(str(tmp_path / "both"))


def test_the_config_points_every_rule_at_plink1_prefixes(formats):
    d = formats["dir"]
    cfg = {"data": {"genotypes": str(d / "v.vcf.gz"), "keep": None, "extract": None, "vcf_id_delim": "_",
                    "hard_call_threshold": 0.1},
           "predict": {"cohorts": {"plain": {"genotypes": str(d / "cohort")},
                                   "imputed": {"genotypes": str(d / "g.bgen"), "sample": None}}}}
    conv = genotype_conversions(cfg)
    assert cfg["data"]["genotypes"] == "results/individual/inputs/genotypes" and cfg["data"]["genotypes_source"].endswith("v.vcf.gz")
    assert cfg["predict"]["cohorts"]["plain"]["genotypes"] == str(d / "cohort")  # PLINK 1: used in place
    assert cfg["predict"]["cohorts"]["imputed"]["genotypes"] == "results/individual/inputs/cohorts/imputed/genotypes"
    assert sorted(conv) == ["results/individual/inputs/cohorts/imputed/genotypes", "results/individual/inputs/genotypes"]
    assert conv["results/individual/inputs/genotypes"]["options"]["vcf_id_delim"] == "_"


def test_genoml_predict_takes_any_format(formats, tmp_path):
    """genoml-predict --bfile/--genotypes: PLINK 1 used in place, a BGEN converted into OUT/converted/."""
    from genoml_core.predict.cli import _plink1_genotypes

    kw = {"sample": None, "vcf_id_delim": None, "hard_call_threshold": 0.1}
    assert _plink1_genotypes(formats["bfile"] + ".bed", tmp_path, **kw) == formats["bfile"]
    prefix = _plink1_genotypes(str(formats["dir"] / "g.bgen"), tmp_path, **kw)
    assert prefix == str(tmp_path / "converted" / "genotypes")
    _same_genotypes(formats, tmp_path / "converted" / "genotypes")


def test_unreadable_inputs_name_the_file_and_plink2s_reason(formats, tmp_path):
    data = (formats["dir"] / "v.vcf.gz").read_bytes()
    (tmp_path / "cut.vcf.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(GenotypeFormatError, match=r"cut\.vcf\.gz \(vcf\) could not be read as genotypes: .*plink2"):
        convert(resolve(str(tmp_path / "cut.vcf.gz")), tmp_path / "o1", {})
    lines = (formats["dir"] / "g.sample").read_text().splitlines()
    (tmp_path / "short.sample").write_text("\n".join(lines[:-5]) + "\n")
    with pytest.raises(GenotypeFormatError, match=r"(?s)g\.bgen \(bgen\).*\.sample file has \d+ samples, while \.bgen"):
        convert(resolve(str(formats["dir"] / "g.bgen"), sample=str(tmp_path / "short.sample")), tmp_path / "o2", {})
    assert not list(tmp_path.glob("o1.*")) and not list(tmp_path.glob("o2.*"))  # nothing half-written
