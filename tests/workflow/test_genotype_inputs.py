"""The workflow on a VCF training cohort (a data.keep subset) and a BGEN new cohort: converted once by
plink2, then every stage as for PLINK 1; phenotype rows without genotypes stop the run or are dropped."""

from __future__ import annotations

import json
import shutil
import subprocess

import pandas as pd
import pytest

from genoml_core import io
from tests.conftest import needs_plink, run_snakemake, write_config

pytestmark = [needs_plink, pytest.mark.workflow]


def _plink(*args: str) -> None:
    subprocess.run([shutil.which("plink2"), *args], check=True, capture_output=True)


def test_vcf_training_and_bgen_new_cohort(small_cohort, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _plink("--bfile", str(small_cohort / "cohort"), "--export", "vcf", "bgz", "id-delim=_", "--out", str(data / "train"))
    _plink("--bfile", str(small_cohort / "new_cohort"), "--export", "bgen-1.2", "--out", str(data / "new"))
    fam = io.read_fam(small_cohort / "cohort")
    keep = fam.iloc[: len(fam) - 40][["FID", "IID"]]
    keep.to_csv(data / "keep.txt", sep="\t", header=False, index=False)
    new = {"genotypes": str(data / "new.bgen"), "covariates": str(small_cohort / "new_cohort_covariates.tsv"),
           "phenotype": str(small_cohort / "new_cohort_phenotype.tsv")}
    common = dict(train={"learners": ["logistic_l1"], "n_trials": 1}, predict={"cohorts": {"new": new}})
    # the phenotype lists the 40 people data.keep leaves out: by default that is an error, named
    write_config(tmp_path, small_cohort, data={"genotypes": str(data / "train.vcf.gz"), "vcf_id_delim": "_",
                                               "keep": str(data / "keep.txt")}, **common)
    proc = run_snakemake(tmp_path, check=False)
    assert proc.returncode != 0
    assert "40 sample(s) are not in results/individual/inputs/genotypes.fam (converted from" in (tmp_path / "logs/check_inputs.log").read_text()
    assert "data.unmatched_phenotype: drop" in (tmp_path / "logs/check_inputs.log").read_text()

    write_config(tmp_path, small_cohort, data={"genotypes": str(data / "train.vcf.gz"), "vcf_id_delim": "_",
                                               "keep": str(data / "keep.txt"), "unmatched_phenotype": "drop"},
                 **common)
    run_snakemake(tmp_path)
    res = tmp_path / "results"
    conv = json.loads((res / "individual/inputs/genotypes.json").read_text())
    assert conv["format"] == "vcf" and conv["samples"] == len(keep) and conv["id_mode"] == "--id-delim _"
    report = json.loads((res / "inputs/report.json").read_text())
    assert report["fam_samples"] == len(keep) and report["phenotype_rows_without_genotypes"] == 40
    assert json.loads((res / "individual/inputs/cohorts/new/genotypes.json").read_text())["format"] == "bgen"
    pred = pd.read_csv(res / "individual/predict/new/predictions.tsv", sep="\t", dtype=str)
    assert list(pred.IID) == list(io.read_fam(small_cohort / "new_cohort").IID)  # the .sample's ids, in order
    m = json.loads((res / "predict/new/metrics.json").read_text())
    assert m["metrics"]["roc_auc"] > 0.5
