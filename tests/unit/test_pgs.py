"""Polygenic score files (genoml_core.pgs): real plink2 --score on a simulated new cohort reproduces the
model's linear SNP predictor; the PGS Catalog header and columns; zero weights dropped; stacks and fold
models combined; several classes; no file when the final model has no linear SNP part."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genoml_core.genotypes import harmonize as hz
from genoml_core import io, pgs
from genoml_core.models import persist
from genoml_core.evaluation.ensemble import FINAL_FORMAT, FinalModel
from genoml_core.models.genome_learner import to_linear_model
from genoml_core.models.learners import fit_learner, make_learner
from genoml_core.store import FeatureStore, build_feature_store
from genoml_core.models.penalized import GenomeWideGLM
from genoml_core.pgs.weights import _align_and_sum
from genoml_core.simulate import SimulationSpec, simulate_cohort

PLINK2 = shutil.which("plink2")
needs_plink2 = pytest.mark.skipif(PLINK2 is None, reason="plink2 not on PATH")
CLASSES = {"binary": ["control", "case"], "continuous": None, "multiclass": ["subtype_a", "subtype_b", "subtype_c"]}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """A simulated cohort (its new cohort has shuffled SNPs, ~10% swapped alleles, absent SNPs and
    missing calls) and one feature store per task (every development person trains: the refit fold),
    over the SNPs QC would keep (the simulation's bad SNPs left out), with the sex/age covariates."""
    d = tmp_path_factory.mktemp("pgs_cohort")
    truth = simulate_cohort(d, SimulationSpec(n_samples=300, n_snps=800, n_chromosomes=2, n_new=100, seed=5))
    bad = {s for v in truth["bad_snps"].values() if isinstance(v, list) for s in v}
    (d / "snps").write_text("\n".join(s for s in io.read_bim(d / "cohort").SNP if s not in bad) + "\n")
    pheno = pd.read_csv(d / "phenotype.tsv", sep="\t", dtype={"FID": str, "IID": str})
    covariates = pd.read_csv(d / "covariates.tsv", sep="\t", dtype={"FID": str, "IID": str})
    columns = {"binary": "case_control", "continuous": "quantitative", "multiclass": "three_class"}
    for task, column in columns.items():
        p = pheno.dropna(subset=[column])
        if task == "multiclass":
            label = p[column].map({c: i for i, c in enumerate(CLASSES[task])}).astype(int)
        else:
            label = p[column].astype(float if task == "continuous" else int)
        split = pd.DataFrame({"FID": p.FID, "IID": p.IID, "label": label, "set": "dev", "part": "0"})
        build_feature_store(str(d / "cohort"), d / "snps", split, d / task, fold="full", method="kfold", task=task,
                            class_names=CLASSES[task], covariates=covariates, chunk_variants=256)
    return d


def _fit_glm(store: FeatureStore, task: str) -> GenomeWideGLM:
    tr = store.index("train")
    glm = GenomeWideGLM(task, alphas=(1.0,), n_inner_folds=3, n_lambdas=30, min_lambdas=10, random_state=1)
    return glm.fit(store.genotypes, store.labels(tr), covariates=store.other[tr], rows=tr)


def _fit(store: FeatureStore, name: str, task: str, params: dict | None = None):
    tr = store.index("train")
    est = make_learner(name, params, task=task, random_state=3)
    return fit_learner(est, store.rows(tr), store.labels(tr), task=task)


def _final(root: Path, task: str, members: list[dict]) -> FinalModel:
    """A final_model.json under root/final with these members ({learner, weight, models: {fold: (est,
    store dir)}}), the models saved under root/train like the workflow's."""
    spec_members = []
    for i, m in enumerate(members):
        models, recipes = {}, {}
        for fold, (est, store) in m["models"].items():
            rel = f"train/{m['learner']}_{i}/model_{fold}.zip"
            persist.save_model(est, root / rel, meta={"fold": fold})
            models[fold], recipes[fold] = rel, str(Path(store) / "recipe.json")
        spec_members.append({"learner": m["learner"], "trial": 0, "weight": m["weight"], "feature_set": "compact",
                             "models": models, "recipes": recipes})
    spec = {"format": FINAL_FORMAT, "task": task, "class_names": CLASSES[task], "members": spec_members,
            "calibrator": {"kind": "none"}, "combiner": "stack" if len(members) > 1 else "single"}
    (root / "final").mkdir(parents=True, exist_ok=True)
    (root / "final" / "final_model.json").write_text(json.dumps(spec))
    return FinalModel.load(root / "final" / "final_model.json")


def _plink2_sum(score_file: Path, bfile: Path, out: Path, *, read_freq: Path | None = None) -> pd.DataFrame:
    """plink2 --score of a written file, run as the summary says (the # lines removed first)."""
    table = out.with_suffix(".score.tsv")
    table.write_text("".join(line for line in score_file.read_text().splitlines(True) if not line.startswith("#")))
    cmd = [PLINK2, "--bfile", str(bfile), "--score", str(table), "1", "4", "6", "header-read", "cols=+scoresums",
           "--threads", "1", "--out", str(out)]
    if read_freq is not None:
        cmd[3:3] = ["--read-freq", str(read_freq)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    s = pd.read_csv(f"{out}.sscore", sep="\t", dtype={"#FID": str, "IID": str})
    return s.rename(columns={"#FID": "FID"})


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.polyfit(x, y, 1)[0])


# ----------------------------------------------------------------------------- (a) plink2 reproduces the model
@needs_plink2
def test_plink2_score_on_the_new_cohort_is_the_glm_snp_predictor(cohort, tmp_path):
    """penalized_glm (binary): the plink2 sum over the score file on the NEW cohort (shuffled SNPs,
    swapped alleles, absent SNPs, missing calls) equals the model's linear predictor over the SNPs,
    from the new cohort harmonized to the recipe, up to a constant; with the training frequencies
    (--read-freq) exactly, with plink2's own mean imputation closely."""
    store = FeatureStore(cohort / "binary")
    glm = _fit_glm(store, "binary")
    est = to_linear_model(glm, store.recipe, "binary")
    # the GLM's own per-allele weights and the saved recipe-space model's give the same weights
    np.testing.assert_allclose(pgs.model_allele_weights(glm, store.recipe, task="binary"),
                               pgs.model_allele_weights(est, store.recipe, task="binary"), rtol=1e-10, atol=1e-12)
    final = _final(tmp_path / "res", "binary", [{"learner": "penalized_glm", "weight": 1.0,
                                                  "models": {"full": (est, store.directory)}}])
    summary = pgs.write_score_files(final, tmp_path / "score", phenotype_column="case_control")
    assert summary["written"] and summary["files"][0]["file"] == "case_control.pgs.txt"
    assert "--read-freq case_control.afreq" in summary["plink2"]

    # plink2 matches alleles by their codes, with no strand logic: keep the A/T, C/G SNPs as given
    h = hz.harmonize(store.recipe, cohort / "new_cohort", ambiguous="keep")
    assert h.plan.counts()["swapped"] > 0 and h.plan.counts()["absent"] > 0 and (h.genotypes < 0).any()
    n = store.recipe["n_snps"]
    model = h.features()[:, :n].astype(np.float64) @ est.coef_[0, :n]  # the model's SNP predictor

    exact = _plink2_sum(tmp_path / "score" / "case_control.pgs.txt", cohort / "new_cohort", tmp_path / "rf",
                        read_freq=tmp_path / "score" / "case_control.afreq")
    assert exact.IID.tolist() == h.samples.IID.tolist()
    s = exact["effect_weight_SUM"].to_numpy()
    assert np.corrcoef(s, model)[0, 1] > 0.9999 and abs(_slope(model, s) - 1) < 1e-4
    assert np.ptp(s - model) < 1e-3  # a constant apart (plink2 prints 6 significant digits)
    # without --read-freq plink2 imputes the new cohort's own frequency: close, not exact
    own = _plink2_sum(tmp_path / "score" / "case_control.pgs.txt", cohort / "new_cohort", tmp_path / "own")
    assert np.corrcoef(own["effect_weight_SUM"].to_numpy(), model)[0, 1] > 0.999


@needs_plink2
def test_plink2_score_of_a_ridge_is_its_prediction_in_phenotype_units(cohort, tmp_path):
    """ridge (scikit-learn, standardized target): the score is on the trait's own scale: the plink2
    sum moves one for one with the model's predictions on the new cohort (covariates fixed)."""
    store = FeatureStore(cohort / "continuous")
    est = _fit(store, "ridge", "continuous", {"alpha": 30.0})
    assert type(est).__name__ == "TransformedTargetRegressor"
    final = _final(tmp_path / "res", "continuous", [{"learner": "ridge", "weight": 1.0,
                                                      "models": {"full": (est, store.directory)}}])
    summary = pgs.write_score_files(final, tmp_path / "score", phenotype_column="quantitative")
    n = store.recipe["n_snps"]
    # ridge: every SNP but the monomorphic ones (a zero column) has a weight
    assert summary["files"][0]["variants_number"] == (est.regressor_.coef_[:n] != 0).sum() > n // 2
    h = hz.harmonize(store.recipe, cohort / "new_cohort", ambiguous="keep")
    X = h.features()
    X[:, n:] = 0.0  # covariates at their training means: predictions vary by SNPs only
    predicted = est.predict(X)
    s = _plink2_sum(tmp_path / "score" / "quantitative.pgs.txt", cohort / "new_cohort", tmp_path / "rf",
                    read_freq=tmp_path / "score" / "quantitative.afreq")["effect_weight_SUM"].to_numpy()
    assert np.std(predicted) > 1.0  # phenotype units (100 + 15 x liability), not the standardized scale
    assert np.corrcoef(s, predicted)[0, 1] > 0.9999 and abs(_slope(predicted, s) - 1) < 1e-4


# ----------------------------------------------------------------------------- (b) format, (c) zero weights
def test_header_and_columns_follow_the_pgs_catalog_format_and_zero_weights_are_left_out(cohort, tmp_path):
    store = FeatureStore(cohort / "binary")
    glm = _fit_glm(store, "binary")
    est = to_linear_model(glm, store.recipe, "binary")
    final = _final(tmp_path / "res", "binary", [{"learner": "penalized_glm", "weight": 1.0,
                                                  "models": {"full": (est, store.directory)}}])
    pgs.write_score_files(final, tmp_path / "score", phenotype_column="case_control", genome_build="GRCh37",
                          code_version="9.9.9")
    path = tmp_path / "score" / "case_control.pgs.txt"
    lines = path.read_text().splitlines()
    assert lines[0].startswith("###PGS CATALOG SCORING FILE") and lines[1] == "#format_version=2.0"
    header, table = pgs.read_scoring_file(path)
    assert header["pgs_name"] == "genoml_case_control" and header["trait_reported"] == "case_control"
    assert header["genome_build"] == "GRCh37" and header["weight_type"] == "log(OR)"
    assert header["genoml_core_version"] == "9.9.9" and "penalized_glm" in header["genoml_members_in_score"]
    assert "per copy of effect_allele" in header["genoml_effect_weight"]
    assert "log-odds of case vs control" in header["genoml_score_scale"]
    assert tuple(table.columns) == pgs.SCORE_COLUMNS == (
        "rsID", "chr_name", "chr_position", "effect_allele", "other_allele", "effect_weight")
    assert next(line for line in lines if not line.startswith("#")).split("\t") == list(pgs.SCORE_COLUMNS)
    # (c) exactly the SNPs with a nonzero weight, each with its recipe alleles, in chromosome order
    w = glm.allele_weights_
    assert 0 < (w != 0).sum() < len(w) and int(header["variants_number"]) == len(table) == (w != 0).sum()
    assert (table.effect_weight != 0).all()
    snps = {f["id"]: f for f in store.recipe["features"][: store.recipe["n_snps"]]}
    ids = [f["id"] for f in store.recipe["features"][: store.recipe["n_snps"]]]
    expected = pd.Series(w, index=ids)
    np.testing.assert_allclose(table.effect_weight, expected.loc[table.rsID], rtol=1e-9)
    assert [snps[i]["counted"] for i in table.rsID] == table.effect_allele.tolist()
    assert [snps[i]["other"] for i in table.rsID] == table.other_allele.tolist()
    order = pd.DataFrame({"c": table.chr_name.astype(int), "p": table.chr_position})
    assert order.equals(order.sort_values(["c", "p"]))
    # the same final model gives the same bytes (a deterministic output)
    again = tmp_path / "again"
    pgs.write_score_files(final, again, phenotype_column="case_control", genome_build="GRCh37", code_version="9.9.9")
    assert sorted(p.name for p in again.iterdir()) == sorted(p.name for p in (tmp_path / "score").iterdir())
    for p in again.iterdir():
        assert p.read_bytes() == (tmp_path / "score" / p.name).read_bytes(), p.name


# ----------------------------------------------------------------------------- (d) no linear part
def test_a_final_model_without_linear_members_writes_no_score_and_says_why(cohort, tmp_path):
    store = FeatureStore(cohort / "binary")
    rf = _fit(store, "random_forest", "binary", {"n_estimators": 5, "max_depth": 3})
    final = _final(tmp_path / "res", "binary", [{"learner": "random_forest", "weight": 1.0,
                                                  "models": {"full": (rf, store.directory)}}])
    summary = pgs.write_score_files(final, tmp_path / "score", phenotype_column="case_control")
    assert [p.name for p in (tmp_path / "score").iterdir()] == [pgs.SUMMARY_FILE]
    assert summary == io.read_json(tmp_path / "score" / pgs.SUMMARY_FILE)
    assert not summary["written"] and summary["files"] == [] and summary["plink2"] is None
    assert "no linear part over SNPs" in summary["reason"] and "random_forest" in summary["reason"]
    assert summary["members_not_in_score"][0]["learner"] == "random_forest"


def test_a_linear_model_with_only_zero_snp_weights_writes_no_score(cohort, tmp_path):
    store = FeatureStore(cohort / "binary")
    est = _fit(store, "logistic_l2", "binary")
    est.coef_[:, : store.recipe["n_snps"]] = 0.0  # only the covariates left
    final = _final(tmp_path / "res", "binary", [{"learner": "logistic_l2", "weight": 1.0,
                                                  "models": {"full": (est, store.directory)}}])
    summary = pgs.write_score_files(final, tmp_path / "score", phenotype_column="case_control")
    assert not summary["written"] and "every SNP weight is 0" in summary["reason"]


# ----------------------------------------------------------------------------- stacks, folds, classes
def test_a_stack_combines_its_linear_members_and_fold_models_and_names_the_rest(cohort, tmp_path):
    """Linear members weighted by their stack weights renormalized over the linear members, each
    member's fold models averaged; the forest is left out and named in the header."""
    store = FeatureStore(cohort / "binary")
    glm = to_linear_model(_fit_glm(store, "binary"), store.recipe, "binary")
    l2a, l2b = _fit(store, "logistic_l2", "binary", {"C": 0.01}), _fit(store, "logistic_l2", "binary", {"C": 0.1})
    rf = _fit(store, "random_forest", "binary", {"n_estimators": 5, "max_depth": 3})
    final = _final(tmp_path / "res", "binary", [
        {"learner": "penalized_glm", "weight": 3.0, "models": {"full": (glm, store.directory)}},
        {"learner": "logistic_l2", "weight": 1.0, "models": {"fold0": (l2a, store.directory),
                                                           "fold1": (l2b, store.directory)}},
        {"learner": "random_forest", "weight": 2.0, "models": {"full": (rf, store.directory)}},
    ])
    pgs.write_score_files(final, tmp_path / "score", phenotype_column="case_control")
    header, table = pgs.read_scoring_file(tmp_path / "score" / "case_control.pgs.txt")

    def w(est):
        return pgs.model_allele_weights(est, store.recipe, task="binary")[:, 0]

    expected = 0.75 * w(glm) + 0.25 * (w(l2a) + w(l2b)) / 2
    ids = [f["id"] for f in store.recipe["features"][: store.recipe["n_snps"]]]
    assert len(table) == (expected != 0).sum()
    np.testing.assert_allclose(table.effect_weight, pd.Series(expected, index=ids).loc[table.rsID], rtol=1e-8)
    assert "0.75 x penalized_glm + 0.25 x logistic_l2" in header["genoml_combined"]
    assert "fold models averaged" in header["genoml_combined"] and "0.6667 of the stack" in header["genoml_combined"]
    assert "random_forest" in header["genoml_members_not_in_score"]
    assert "average probabilities" in header["genoml_not_in_score"]


def test_several_classes_get_one_file_per_class(cohort, tmp_path):
    store = FeatureStore(cohort / "multiclass")
    est = _fit(store, "logistic_l2", "multiclass")
    final = _final(tmp_path / "res", "multiclass", [{"learner": "logistic_l2", "weight": 1.0,
                                                      "models": {"full": (est, store.directory)}}])
    summary = pgs.write_score_files(final, tmp_path / "score", phenotype_column="three_class")
    assert [f["file"] for f in summary["files"]] == [f"three_class.{c}.pgs.txt" for c in CLASSES["multiclass"]]
    n = store.recipe["n_snps"]
    scale = np.array([f["scale"] for f in store.recipe["features"][:n]])
    ids = [f["id"] for f in store.recipe["features"][:n]]
    for k, c in enumerate(CLASSES["multiclass"]):
        header, table = pgs.read_scoring_file(tmp_path / "score" / f"three_class.{c}.pgs.txt")
        assert header["trait_reported"] == f"three_class (class {c})" and header["weight_type"] == "NR"
        assert "use the 3 class files together" in header["genoml_score_scale"]
        np.testing.assert_allclose(table.effect_weight, pd.Series(est.coef_[k, :n] / scale, index=ids).loc[table.rsID],
                                   rtol=1e-8)


def test_recipes_counting_the_other_allele_are_aligned_and_foreign_alleles_refused():
    def frame(counted, other, w, mean):
        return pd.DataFrame({"id": ["rs1"], "chrom": ["1"], "pos": [10], "counted": [counted], "other": [other],
                             "mean": [mean], "w0": [w]})

    out = _align_and_sum([frame("A", "G", 0.4, 0.5), frame("G", "A", 0.2, 1.5)], [0.5, 0.5])
    assert out.counted.tolist() == ["A"] and out.w0.tolist() == pytest.approx([0.1])  # 0.5 * 0.4 - 0.5 * 0.2
    assert out["mean"].tolist() == pytest.approx([0.5])  # 2 - 1.5 copies of A
    with pytest.raises(Exception, match="rs1 has alleles"):
        _align_and_sum([frame("A", "G", 0.4, 0.5), frame("A", "C", 0.2, 0.5)], [0.5, 0.5])
