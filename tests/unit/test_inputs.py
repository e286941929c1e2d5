"""Input checks: each mistake stops with the file, the line or sample, and the fix."""

import numpy as np
import pandas as pd
import pytest

from genoml_core import io
from genoml_core.errors import InputError
from genoml_core.inputs import check_inputs, read_phenotype

N = 40


@pytest.fixture()
def data(tmp_path):
    rng = np.random.default_rng(1)
    g = rng.integers(0, 3, size=(N, 10)).astype(np.int8)
    bim = pd.DataFrame({"CHR": "1", "SNP": [f"rs{i}" for i in range(10)], "CM": 0.0, "POS": np.arange(10) + 1,
                        "A1": "A", "A2": "C"})
    fam = pd.DataFrame({"FID": [f"F{i}" for i in range(N)], "IID": [f"I{i}" for i in range(N)], "PAT": 0,
                        "MAT": 0, "SEX": 1, "PHENO": -9})
    io.write_bed(tmp_path / "g", g, bim, fam)
    ph = fam[["FID", "IID"]].assign(y=[i % 2 for i in range(N)], q=rng.normal(size=N), k=[f"c{i % 3}" for i in range(N)])
    ph.to_csv(tmp_path / "ph.tsv", sep="\t", index=False)
    fam[["FID", "IID"]].assign(age=rng.normal(50, 5, N), sex=[i % 2 for i in range(N)]).to_csv(
        tmp_path / "cov.tsv", sep="\t", index=False)
    return {"genotypes": str(tmp_path / "g"), "phenotype": str(tmp_path / "ph.tsv"), "phenotype_column": "y",
            "binary_coding": "01", "missing_values": ["NA", ""], "covariates": str(tmp_path / "cov.tsv"),
            "covariate_columns": None, "omics": None}


def _edit(path, fn):
    df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    fn(df)
    df.to_csv(path, sep="\t", index=False)


def test_good_inputs(data):
    out = check_inputs(data, "binary")
    assert len(out.samples) == N and out.class_names == ["control", "case"]
    assert out.report["class_counts"] == {"control": 20, "case": 20}


def test_phenotype_id_not_in_fam(data):
    _edit(data["phenotype"], lambda df: df.loc.__setitem__((3, "IID"), "GHOST"))
    with pytest.raises(InputError, match=r"ph\.tsv: 1 sample\(s\) are not in .*g\.fam, e\.g\. FID='F3' IID='GHOST';"):
        check_inputs(data, "binary")


def test_duplicated_phenotype_ids(data):
    _edit(data["phenotype"], lambda df: df.loc.__setitem__((4, ["FID", "IID"]), ["F3", "I3"]))
    with pytest.raises(InputError, match=r"ph\.tsv, line 5: sample FID='F3' IID='I3' appears 2 times"):
        check_inputs(data, "binary")


def test_binary_coding_mismatch(data):
    _edit(data["phenotype"], lambda df: df.__setitem__("y", [str(1 + i % 2) for i in range(N)]))
    with pytest.raises(InputError, match=r"line 3: phenotype y = '2', but data\.binary_coding is '01'"):
        check_inputs(data, "binary")
    assert len(check_inputs({**data, "binary_coding": "12"}, "binary").samples) == N


def test_single_class(data):
    _edit(data["phenotype"], lambda df: df.__setitem__("y", "1"))
    with pytest.raises(InputError, match=r"single class \(case\)"):
        check_inputs(data, "binary")


def test_non_numeric_covariate(data):
    _edit(data["covariates"], lambda df: df.loc.__setitem__((6, "sex"), "M"))
    with pytest.raises(InputError, match=r"cov\.tsv, line 8: covariate column 'sex' = 'M' is not numeric .*F6"):
        check_inputs(data, "binary")


def test_task_and_values_disagree(data, tmp_path):
    with pytest.raises(InputError, match="looks binary, not continuous"):
        read_phenotype(data["phenotype"], "y", "continuous")
    with pytest.raises(InputError, match="is not a number"):
        read_phenotype(data["phenotype"], "k", "continuous")
    with pytest.raises(InputError, match="only 2 classes"):
        read_phenotype(data["phenotype"], "y", "multiclass")
    labels, names = read_phenotype(data["phenotype"], "k", "multiclass")
    assert names == ["c0", "c1", "c2"] and set(labels.label) == {0, 1, 2}


def test_one_reader_for_training_and_new_cohorts(tmp_path):
    p = tmp_path / "new.tsv"
    p.write_text("FID\tIID\tk\tq\ty\nF1\tI1\tc2\t1\t 2\nF2\tI2\t c0\t2\t2\nF3\tI3\tNA\t1\t2\n")
    # a cohort is encoded with the training classes, not its own: c2 -> 2 even though c1 is absent
    labels, names = read_phenotype(p, "k", "multiclass", cohort=True, class_names=["c0", "c1", "c2"])
    assert labels.label.tolist() == [2, 0] and labels.IID.tolist() == ["I1", "I2"] and names == ["c0", "c1", "c2"]
    with pytest.raises(InputError, match=r"only 2 classes \(\['c0', 'c2'\]\)"):  # training: its own classes
        read_phenotype(p, "k", "multiclass")
    # what training refuses (a 2-valued trait, a single class) a cohort may have
    with pytest.raises(InputError, match="looks binary"):
        read_phenotype(p, "q", "continuous")
    assert read_phenotype(p, "q", "continuous", cohort=True)[0].label.tolist() == [1.0, 2.0, 1.0]
    with pytest.raises(InputError, match=r"single class \(case\)"):
        read_phenotype(p, "y", "binary", binary_coding="12")
    ones = read_phenotype(p, "y", "binary", binary_coding="12", cohort=True)[0]
    assert ones.label.tolist() == [1, 1, 1]
    # the same value error names the config key in training and the model's classes in a cohort
    with pytest.raises(InputError, match=r"new\.tsv, line 2: phenotype k = 'c2' is not one of the training classes"):
        read_phenotype(p, "k", "multiclass", cohort=True, class_names=["c0", "c1"])
    with pytest.raises(InputError, match=r"line 2: phenotype y = ' 2', but data\.binary_coding is '01'"):
        read_phenotype(p, "y", "binary")
    with pytest.raises(InputError, match=r"no column 'z' \(phenotype_column\)"):
        read_phenotype(p, "z", "binary", cohort=True)


def test_missing_phenotypes_are_dropped(data):
    _edit(data["phenotype"], lambda df: df.loc.__setitem__((slice(0, 4), "y"), "NA"))
    out = check_inputs(data, "binary")
    assert len(out.samples) == N - 5 and out.report["fam_samples_without_phenotype"] == 5


def test_wrong_bed_detected_before_phenotype(data, tmp_path):
    (tmp_path / "g.bed").write_bytes(b"\x00\x00\x00" + b"\x00" * 100)
    with pytest.raises(InputError, match="not a PLINK 1 .bed file"):
        check_inputs(data, "binary")


def test_id_with_trailing_space_is_shown_and_named(data):
    """Issue 12.7.6: 'FAM0001 IND0001 , ...' hid the trailing space; the message must show it."""
    _edit(data["phenotype"], lambda df: df.loc.__setitem__((3, "IID"), "I3 "))
    with pytest.raises(InputError) as err:
        check_inputs(data, "binary")
    msg = str(err.value)
    assert "FID='F3' IID='I3 '" in msg
    assert "leading or trailing whitespace (e.g. IID 'I3 ')" in msg and "remove the whitespace" in msg


def test_ids_without_whitespace_get_no_whitespace_hint(data):
    _edit(data["phenotype"], lambda df: df.loc.__setitem__((3, "IID"), "GHOST"))
    with pytest.raises(InputError) as err:
        check_inputs(data, "binary")
    assert "leading or trailing" not in str(err.value)


def test_covariate_ids_with_whitespace_are_named_in_the_warning(data, caplog):
    _edit(data["covariates"], lambda df: df.loc.__setitem__((2, "FID"), " F2"))
    with caplog.at_level("WARNING", logger="genoml_core.inputs"):
        check_inputs(data, "binary")
    assert "1 analysis sample(s) have no row" in caplog.text and "FID ' F2'" in caplog.text


def test_comma_separated_file_is_called_comma_separated(data, tmp_path):
    """Issue 12.7.8: a CSV was reported as 'space-separated'."""
    pd.read_csv(data["phenotype"], sep="\t").to_csv(tmp_path / "ph.csv", index=False)
    with pytest.raises(InputError) as err:
        check_inputs({**data, "phenotype": str(tmp_path / "ph.csv")}, "binary")
    msg = str(err.value)
    assert "comma-separated" in msg and "CSV" in msg and "space-separated" not in msg
    pd.read_csv(data["phenotype"], sep="\t").to_csv(tmp_path / "ph.txt", sep=" ", index=False)
    with pytest.raises(InputError, match="header is space-separated; separate the columns with tabs"):
        check_inputs({**data, "phenotype": str(tmp_path / "ph.txt")}, "binary")


def test_duplicated_fam_sample_suggests_a_sample_fix_not_a_variant_one(data, tmp_path):
    """Issue 12.7.7: the advice was plink2 --set-all-var-ids, which renames variants."""
    fam = (tmp_path / "g.fam").read_text().splitlines()
    fam[5] = fam[4]
    (tmp_path / "g.fam").write_text("\n".join(fam) + "\n")
    with pytest.raises(InputError) as err:
        check_inputs(data, "binary")
    msg = str(err.value)
    assert "line 5: sample FID=F4 IID=I4 appears 2 times" in msg
    assert "--set-all-var-ids" not in msg and "--update-ids" not in msg
    assert "_dup" in msg and "--remove" in msg and "Duplicate ID" in msg


def test_a_wide_omics_matrix_reads_without_fragmenting_the_frame(tmp_path):
    """Thousands of omics columns (NCI60: 6,830 genes) are read in one concat: no PerformanceWarning
    per column in every job that reads them, and the same values."""
    import warnings

    from genoml_core.inputs import read_numeric_table

    rng = np.random.default_rng(0)
    m = pd.DataFrame(rng.normal(size=(20, 300)), columns=[f"g{i}" for i in range(300)])
    m.insert(0, "IID", [f"s{i}" for i in range(20)])
    m.to_csv(tmp_path / "m.tsv", sep="\t", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = read_numeric_table(tmp_path / "m.tsv", None, ["NA"], "omics")
    assert list(out.columns) == ["FID", "IID", *[f"g{i}" for i in range(300)]]
    np.testing.assert_array_equal(out.iloc[:, 2:].to_numpy(), pd.read_csv(tmp_path / "m.tsv", sep="\t").iloc[:, 1:].to_numpy())
