"""PLINK 1 reading/writing: our writer, our LUT decoder, pandas-plink and plink2 agree."""

import subprocess

import numpy as np
import pandas as pd
import pytest

from genoml_core import io
from genoml_core.errors import InputError
from tests.conftest import needs_plink


def _fileset(tmp_path, n=37, m=23, seed=0):
    rng = np.random.default_rng(seed)
    g = rng.integers(-1, 3, size=(n, m)).astype(np.int8)
    bim = pd.DataFrame({"CHR": "1", "SNP": [f"rs{i}" for i in range(m)], "CM": 0.0,
                        "POS": np.arange(m) * 10 + 5, "A1": "A", "A2": "G"})
    fam = pd.DataFrame({"FID": [f"F{i}" for i in range(n)], "IID": [f"I{i}" for i in range(n)],
                        "PAT": 0, "MAT": 0, "SEX": 1, "PHENO": -9})
    prefix = tmp_path / "x"
    io.write_bed(prefix, g, bim, fam)
    return prefix, g


@pytest.mark.parametrize("engine", ["pandas-plink", "lut"])
def test_roundtrip_subsets_in_any_order(tmp_path, engine):
    prefix, g = _fileset(tmp_path)
    vi = np.array([5, 0, 22, 7])
    si = np.array([1, 2, 30, 36])
    out = io.read_genotypes(prefix, vi, si, chunk_variants=3, engine=engine)
    assert out.dtype == np.int8
    np.testing.assert_array_equal(out, g[si][:, vi])


@pytest.mark.parametrize(("n", "m"), [(9, 5), (12, 40), (301, 530), (1030, 7)])
def test_lut_decoder_matches_pandas_plink(tmp_path, n, m):
    """The 16-bit LUT decoder (odd and even byte widths, more than one 256-wide tile) reads what
    pandas-plink reads, for every sample and for subsets, in chunks that split consecutive runs."""
    prefix, g = _fileset(tmp_path, n=n, m=m, seed=n)
    rng = np.random.default_rng(m)
    for vi, si in [(np.arange(m), None), (rng.permutation(m)[: max(1, m // 2)], np.sort(rng.choice(n, n // 2 + 1,
                                                                                                  replace=False)))]:
        lut = io.read_genotypes(prefix, vi, si, chunk_variants=3, engine="lut")
        ref = io.read_genotypes(prefix, vi, si, chunk_variants=64, engine="pandas-plink")
        np.testing.assert_array_equal(lut, ref)
        np.testing.assert_array_equal(lut, g[:, vi] if si is None else g[si][:, vi])


@needs_plink
def test_plink2_counts_the_same_allele(tmp_path):
    prefix, g = _fileset(tmp_path)
    subprocess.run(["plink2", "--bfile", prefix, "--freq", "counts", "--out", tmp_path / "f"],
                   check=True, capture_output=True)
    acount = pd.read_csv(tmp_path / "f.acount", sep="\t")
    # plink2 ALT = .bim A1 for a .bed fileset: its ALT count is our dosage sum
    expected = np.where(g < 0, 0, g).sum(axis=0)
    np.testing.assert_array_equal(acount["ALT_CTS"].to_numpy(), expected)


def test_bad_magic_is_named(tmp_path):
    prefix, _ = _fileset(tmp_path)
    data = bytearray((tmp_path / "x.bed").read_bytes())
    data[0] = 0x00
    (tmp_path / "x.bed").write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"x\.bed: not a PLINK 1 \.bed file"):
        io.check_bed(prefix, 37, 23)


def test_truncated_bed_is_named(tmp_path):
    prefix, _ = _fileset(tmp_path)
    data = (tmp_path / "x.bed").read_bytes()
    (tmp_path / "x.bed").write_bytes(data[:-5])
    with pytest.raises(InputError, match="truncated"):
        io.check_bed(prefix, 37, 23)


def test_fam_bim_counts_must_match_bed_size(tmp_path):
    prefix, _ = _fileset(tmp_path)
    with pytest.raises(InputError, match="does not match 24 variants"):
        io.check_bed(prefix, 37, 24)


def test_duplicated_fam_ids(tmp_path):
    prefix, _ = _fileset(tmp_path)
    lines = (tmp_path / "x.fam").read_text().splitlines()
    lines[5] = lines[2]
    (tmp_path / "x.fam").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"line 3: sample FID=F2 IID=I2 appears 2 times"):
        io.read_fam(prefix)


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError):
        with io.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_json_default_converts_numpy_and_paths_and_refuses_the_rest(tmp_path):
    obj = {"i": np.int64(3), "f": np.float32(0.5), "b": np.bool_(True), "a": np.array([[1, 2]], dtype=np.int8),
           "p": tmp_path / "x.tsv", "nan": np.float64("nan")}
    io.write_json(obj, tmp_path / "o.json")
    text = (tmp_path / "o.json").read_text()
    assert '"b": true' in text and '"nan": NaN' in text  # json's NaN kept: to_plain is the strict step
    assert io.read_json(tmp_path / "o.json") == {**obj, "a": [[1, 2]], "p": str(tmp_path / "x.tsv"), "nan": pytest.approx(
        float("nan"), nan_ok=True)}
    for value in (np.int64(3), np.float32(0.5), np.bool_(False)):
        assert type(io.json_default(value)) is type(value.item())
    with pytest.raises(TypeError, match="object is not JSON-serializable"):
        io.json_default(object())


def test_to_plain_strict_and_lenient():
    raw = {1: (np.int32(2), [np.float64("inf"), float("nan"), 0.25]), "s": "x", "arr": np.zeros(2)}
    strict = io.to_plain(raw)
    assert strict["1"][0] == 2 and type(strict["1"][0]) is int
    assert strict["1"][1] == [None, None, 0.25] and strict["s"] == "x"
    assert strict["arr"] is raw["arr"]  # arrays are left to json_default
    lenient = io.to_plain(raw, nonfinite_to_none=False)
    assert lenient["1"][1][0] == float("inf") and np.isnan(lenient["1"][1][1])
    assert io.plain_scalar(np.str_("a")) == "a" and type(io.plain_scalar(np.str_("a"))) is str
