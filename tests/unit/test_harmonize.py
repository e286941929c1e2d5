"""Harmonizing a new cohort to a training recipe, and the predict module's checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from genoml_core.genotypes import harmonize as hz
from genoml_core import io
from genoml_core.config import check_input_paths, load_config, validate_config
from genoml_core.evaluation.ensemble import Member
from genoml_core.errors import ConfigError, InputError
from genoml_core.store import FeatureStore, build_feature_store, scale_features
from genoml_core.predict import (
    Cohort,
    FinalModel,
    PredictOptions,
    check_cohort,
    prediction_table,
    read_cohort_phenotype,
)

REPO = Path(__file__).resolve().parents[2]
MINIMAL = {"task": "binary", "data": {"genotypes": "g", "phenotype": "p.tsv", "phenotype_column": "y"}}
COMP = {"A": "T", "T": "A", "C": "G", "G": "C"}


# ----------------------------------------------------------------------------- fixtures
def _snp(i: int, chrom: str, pos: int, c: str, o: str, mean: float = 1.0, scale: float = 0.7) -> dict:
    return {"name": f"rs{i}_{c}", "source": "snp", "id": f"rs{i}", "chrom": chrom, "pos": pos, "counted": c,
            "other": o, "mean": mean, "scale": scale, "impute": mean, "missing_rate": 0.0}


def _recipe(snps: list[dict], others: list[dict] = ()) -> dict:
    return {"task": "binary", "class_names": ["control", "case"], "n_snps": len(snps), "n_other": len(others),
            "features": [*snps, *others]}


def _bim(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["CHR", "SNP", "POS", "A1", "A2"]).assign(CM=0.0)[io.BIM_COLUMNS]


def _fam(n: int, prefix: str = "N") -> pd.DataFrame:
    return pd.DataFrame({"FID": [f"{prefix}F{i}" for i in range(n)], "IID": [f"{prefix}I{i}" for i in range(n)],
                         "PAT": 0, "MAT": 0, "SEX": 1, "PHENO": -9})


def _training_like(seed: int, m: int = 60, n: int = 40):
    """Training SNPs (unambiguous and ambiguous alleles), their recipe, and true genotypes of new people."""
    rng = np.random.default_rng(seed)
    pairs = [("A", "G"), ("C", "T"), ("G", "A"), ("T", "C"), ("A", "C"), ("G", "T"), ("A", "T"), ("C", "G")]
    snps = []
    for j in range(m):
        c, o = pairs[rng.integers(len(pairs))]
        snps.append(_snp(j, str(1 + j % 3), 1000 + 10 * j, c, o, mean=float(rng.uniform(0.2, 1.8)),
                         scale=float(rng.uniform(0.3, 0.9))))
    cov = [{"name": "age", "source": "covariate", "mean": 50.0, "scale": 10.0, "impute": 50.0},
           {"name": "sex", "source": "covariate", "mean": 0.5, "scale": 0.5, "impute": 0.5}]
    g = rng.integers(0, 3, size=(n, m)).astype(np.int8)
    g[rng.random((n, m)) < 0.05] = -1
    return _recipe(snps, cov), g, rng


# ----------------------------------------------------------------------------- allele resolution
@pytest.mark.parametrize(
    "counted,other,a1,a2,policy,expected",
    [
        ("A", "G", "A", "G", "drop", "direct"),
        ("A", "G", "G", "A", "drop", "swapped"),
        ("A", "G", "T", "C", "drop", "strand_flipped"),
        ("A", "G", "C", "T", "drop", "strand_flipped_swapped"),
        ("A", "G", "A", "C", "drop", "allele_mismatch"),
        ("A", "G", "a", "g", "drop", "direct"),  # case-insensitive
        ("A", "T", "A", "T", "drop", "ambiguous_dropped"),
        ("C", "G", "G", "C", "drop", "ambiguous_dropped"),
        ("A", "T", "A", "T", "keep", "direct"),
        ("A", "T", "T", "A", "keep", "swapped"),  # kept as given: never read as a strand flip
        ("C", "G", "C", "A", "keep", "allele_mismatch"),
        ("A", "G", "A", "0", "drop", "direct"),  # monomorphic in the new cohort: match the known allele
        ("A", "G", "G", "0", "drop", "swapped"),
        ("A", "G", "0", "A", "drop", "swapped"),
        ("A", "G", "T", "0", "drop", "allele_mismatch"),  # no strand inference from one allele
        ("AT", "A", "A", "AT", "drop", "swapped"),  # indels: direct/swapped only
        ("AT", "A", "TA", "T", "drop", "allele_mismatch"),
    ],
)
def test_resolve_alleles(counted, other, a1, a2, policy, expected):
    assert hz.resolve_alleles(counted, other, a1, a2, ambiguous=policy) == expected


def test_chromosome_codes_compare_across_conventions():
    assert hz.normalize_chrom("chr1") == hz.normalize_chrom("1") == hz.normalize_chrom("01") == "1"
    assert hz.normalize_chrom("chrX") == hz.normalize_chrom("X") == hz.normalize_chrom("23")
    assert hz.normalize_chrom("MT") == hz.normalize_chrom("chrM") == "26"


# ----------------------------------------------------------------------------- the plan
def test_plan_id_position_swap_flip_ambiguous_absent_mismatch():
    recipe = _recipe([
        _snp(1, "1", 100, "A", "G"),  # same id, same alleles
        _snp(2, "1", 200, "A", "G"),  # other id, same position: matched by position, swapped
        _snp(3, "2", 300, "C", "T"),  # strand flipped
        _snp(4, "2", 400, "A", "T"),  # ambiguous
        _snp(5, "2", 500, "A", "G"),  # absent
        _snp(6, "3", 600, "A", "G"),  # allele mismatch
        _snp(7, "3", 700, "C", "A"),  # two candidates at its position
    ])
    bim = _bim([
        ("3", "x7a", 700, "C", "A"), ("3", "rs6", 600, "A", "C"), ("chr1", "1:200", 200, "G", "A"),
        ("2", "rs4", 400, "A", "T"), ("1", "rs1", 100, "A", "G"), ("2", "rs3", 300, "G", "A"),
        ("3", "x7b", 700, "A", "C"), ("1", "rs99", 999, "A", "G"),
    ])
    plan = hz.plan_variants(recipe, bim)
    assert list(plan.status) == ["direct", "swapped", "strand_flipped", "ambiguous_dropped", "absent",
                                 "allele_mismatch", "multiple_matches"]
    assert list(plan.matched_by) == ["id", "position", "id", "id", "", "id", "position"]
    assert list(plan.source) == [4, 2, 5, -1, -1, -1, -1]
    assert list(plan.flip) == [False, True, False, False, False, False, False]
    c = plan.counts()
    assert (c["used"], c["imputed"], c["matched_by_id"], c["matched_by_position"]) == (3, 4, 4, 2)
    assert c["examples"]["absent"] == ["rs5"]

    kept = hz.plan_variants(recipe, bim, ambiguous="keep")
    assert kept.status[3] == "direct" and kept.source[3] == 3
    by_id = hz.plan_variants(recipe, bim, match_by_position=False)
    assert by_id.status[1] == "absent" and by_id.status[6] == "absent"
    assert not hz.plan_variants(recipe, bim, swap_alleles=False).flip.any()


def test_duplicated_variant_id_of_a_model_feature_is_an_error():
    recipe = _recipe([_snp(1, "1", 100, "A", "G")])
    with pytest.raises(InputError, match=r"variant id 'rs1' \(a model feature\) appears 2 times"):
        hz.plan_variants(recipe, _bim([("1", "rs1", 100, "A", "G"), ("1", "rs1", 101, "A", "C")]))
    # a duplicated id that is no model feature is no obstacle
    bim = _bim([("1", "rs1", 100, "A", "G"), ("1", ".", 5, "A", "C"), ("1", ".", 6, "C", "A")])
    plan = hz.plan_variants(recipe, bim)
    assert plan.status[0] == "direct"


# ----------------------------------------------------------------------------- genotypes
@pytest.mark.parametrize("engine", ["pandas-plink", "lut"])
def test_genotypes_come_back_in_recipe_order_with_swaps(tmp_path, engine):
    recipe = _recipe([_snp(1, "1", 100, "A", "G"), _snp(2, "1", 200, "C", "T"), _snp(3, "1", 300, "A", "C")])
    bim = _bim([("1", "rs3", 300, "C", "A"), ("1", "rs9", 900, "A", "G"), ("1", "rs1", 100, "A", "G")])
    g = np.array([[0, 1, 2], [1, -1, 0], [2, 2, -1], [-1, 0, 1], [0, 0, 0]], dtype=np.int8)
    io.write_bed(tmp_path / "new", g, bim, _fam(5))
    plan = hz.plan_variants(recipe, bim)
    (out,) = hz.read_harmonized_genotypes(tmp_path / "new", [plan], n_samples=5, engine=engine, chunk_variants=1)
    expect = np.column_stack([g[:, 2], np.full(5, -1), np.where(g[:, 0] >= 0, 2 - g[:, 0], -1)]).astype(np.int8)
    np.testing.assert_array_equal(out, expect)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("policy", ["drop", "keep"])
def test_invariance_shuffled_swapped_flipped_renamed_absent(tmp_path, seed, policy):
    """Property: however a cohort is coded, its harmonized model input equals the input of the same
    people coded exactly like the training data, with the absent SNPs missing (training value)."""
    recipe, g, rng = _training_like(seed)
    snps = recipe["features"][: recipe["n_snps"]]
    n, m = g.shape
    train_bim = _bim([(f["chrom"], f["id"], f["pos"], f["counted"], f["other"]) for f in snps])
    fam = _fam(n)
    amb = np.array([hz.is_strand_ambiguous(f["counted"], f["other"]) for f in snps])
    absent = rng.random(m) < 0.1
    swapped = rng.random(m) < 0.3
    flipped = (rng.random(m) < 0.3) & ~amb  # strand flips of ambiguous SNPs are indistinguishable
    renamed = rng.random(m) < 0.2
    rows, cols = [], []
    for j in rng.permutation(m):
        if absent[j]:
            continue
        f = snps[j]
        a1, a2 = f["counted"], f["other"]
        if flipped[j]:
            a1, a2 = COMP[a1], COMP[a2]
        col = g[:, j]
        if swapped[j]:
            a1, a2 = a2, a1
            col = np.where(col >= 0, 2 - col, -1)
        rows.append((f"chr{f['chrom']}" if renamed[j] else f["chrom"], f"{f['chrom']}:{f['pos']}" if renamed[j]
                     else f["id"], f["pos"], a1, a2))
        cols.append(col)
    io.write_bed(tmp_path / "new", np.column_stack(cols).astype(np.int8), _bim(rows), fam)
    copy = g.copy()
    copy[:, absent] = -1
    io.write_bed(tmp_path / "copy", copy, train_bim, fam)
    cov = pd.DataFrame({"FID": fam.FID, "IID": fam.IID, "sex": rng.integers(0, 2, n), "age": rng.normal(80, 3, n)})
    cov.loc[3, "age"] = np.nan

    new = hz.harmonize(recipe, tmp_path / "new", covariates=cov.iloc[::-1], ambiguous=policy)
    ref = hz.harmonize(recipe, tmp_path / "copy", covariates=cov, ambiguous=policy)
    np.testing.assert_array_equal(new.genotypes, ref.genotypes)
    np.testing.assert_array_equal(new.features(), ref.features())
    c = new.plan.counts()
    assert c["absent"] == absent.sum() and c["matched_by_position"] == (renamed & ~absent).sum()
    assert c["strand_flipped"] + c["strand_flipped_swapped"] == (flipped & ~absent).sum()
    if policy == "drop":
        assert c["ambiguous_dropped"] == (amb & ~absent).sum() and (new.genotypes[:, amb] == -1).all()
    listed = absent & ~amb if policy == "drop" else absent  # the copy lists absent SNPs, all missing
    assert ref.plan.counts()["used"] == c["used"] + listed.sum()
    # the cohort's own covariate statistics are never used: training mean/scale, training value for NaN
    x = new.features()
    assert x[3, m] == 0.0 and x[0, m] == pytest.approx((cov.age[0] - 50) / 10, rel=1e-5)


def test_without_swap_logic_the_input_changes(tmp_path):
    recipe, g, rng = _training_like(5)
    snps = recipe["features"][: recipe["n_snps"]]
    rows = [(f["chrom"], f["id"], f["pos"], f["other"], f["counted"]) for f in snps]  # all swapped
    io.write_bed(tmp_path / "new", np.where(g >= 0, 2 - g, -1).astype(np.int8), _bim(rows), _fam(len(g)))
    good = hz.harmonize(recipe, tmp_path / "new", ambiguous="keep")
    naive = hz.harmonize(recipe, tmp_path / "new", ambiguous="keep", swap_alleles=False)
    np.testing.assert_array_equal(good.genotypes, g)
    assert (naive.genotypes != good.genotypes).mean() > 0.3


# ----------------------------------------------------------------------------- covariates / omics
def test_other_features_are_matched_by_name():
    recipe = _recipe([], [{"name": "age", "source": "covariate", "mean": 50.0, "scale": 10.0, "impute": 50.0},
                          {"name": "pc1", "source": "covariate", "mean": 0.0, "scale": 1.0, "impute": 0.0},
                          {"name": "gene1", "source": "omics", "mean": 2.0, "scale": 2.0, "impute": 2.0}])
    samples = pd.DataFrame({"FID": ["a", "b", "c"], "IID": ["a", "b", "c"]})
    cov = pd.DataFrame({"FID": ["c", "a"], "IID": ["c", "a"], "height": [1.0, 2.0], "age": [70.0, 30.0]})
    match = hz.match_other_features(recipe, samples, {"covariate": cov, "omics": None})
    np.testing.assert_array_equal(match.present, [True, False, False])
    np.testing.assert_array_equal(match.values[:, 0], [30.0, np.nan, 70.0])
    assert match.report["absent_columns"] == ["pc1", "gene1"]
    assert match.report["unused_columns"] == {"covariate": ["height"]}
    assert match.report["samples_without_covariate_row"] == 1
    x = scale_features(recipe, np.zeros((3, 0), np.int8), match.values)
    np.testing.assert_allclose(x, [[-2.0, 0, 0], [0, 0, 0], [2.0, 0, 0]])


# ----------------------------------------------------------------------------- coverage
def test_coverage_from_model_weights_uniform_or_table():
    recipe = _recipe([_snp(i, "1", i, "A", "G") for i in range(4)])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    y = (x[:, 0] + 0.1 * rng.normal(size=200) > 0).astype(int)
    lr = LogisticRegression().fit(x, y)
    w, src = hz.importance_weights(lr, recipe)
    assert src == "model_weights" and np.argmax(w) == 0
    present = np.array([False, True, True, True])
    assert hz.coverage_fraction(w, present) < 0.5
    w, src = hz.importance_weights(KNeighborsClassifier(3).fit(x, y), recipe)
    assert src == "uniform" and hz.coverage_fraction(w, present) == pytest.approx(0.75)
    table = pd.DataFrame({"feature": ["rs1_A", "rs0_A"], "importance": [3.0, 1.0]})
    w, src = hz.importance_weights(lr, recipe, table=table)
    assert src == "table" and hz.coverage_fraction(w, present) == pytest.approx(0.75)


def test_importance_table_reads_the_explain_stage_format(tmp_path):
    p = tmp_path / "importance.tsv"
    pd.DataFrame({"rank": [1, 2], "feature": ["rs1_A", "rs0_A"], "mean_abs_shap": [0.3, 0.1]}).to_csv(
        p, sep="\t", index=False)
    assert hz.read_importance_table(p).importance.tolist() == [0.3, 0.1]
    pd.DataFrame({"feature": ["rs1_A"], "importance": [-1.0]}).to_csv(p, sep="\t", index=False)
    with pytest.raises(InputError, match=r"line 2: importance '-1\.0' must be a number >= 0"):
        hz.read_importance_table(p)


def test_low_overlap_stops_with_a_clear_message():
    counts = {"used": 2, "total": 10, "absent": 8, "allele_mismatch": 0, "ambiguous_dropped": 0,
              "multiple_matches": 0}
    report = {"folds": {"fold0": {"coverage": 0.2, "importance_source": "model_weights", "snps": counts,
                                  "other": {"present": 0, "total": 2}}}}
    with pytest.raises(hz.LowOverlapError, match=r"carry 20\.0% of the model's importance .* below the minimum "
                                                 r"overlap 50%: 2 of 10 SNPs usable \(8 absent"):
        hz.check_overlap(report, 0.5)
    hz.check_overlap(report, 0.2)


# ----------------------------------------------------------------------------- scaling is shared
def test_scale_features_is_the_feature_store_scaling(tmp_path):
    rng = np.random.default_rng(1)
    n, m = 30, 5
    g = rng.integers(0, 3, size=(n, m)).astype(np.int8)
    g[rng.random((n, m)) < 0.1] = -1
    bim = _bim([("1", f"rs{j}", j * 10, "A", "G") for j in range(m)])
    fam = _fam(n)
    io.write_bed(tmp_path / "g", g, bim, fam)
    (tmp_path / "snps").write_text("rs3\nrs1\n")
    split = pd.DataFrame({"FID": fam.FID, "IID": fam.IID, "label": rng.integers(0, 2, n), "set": "dev",
                          "part": "train"})
    split.loc[:5, ["set", "part"]] = ["test", "test"]
    cov = pd.DataFrame({"FID": fam.FID, "IID": fam.IID, "age": rng.normal(40, 5, n)})
    cov.loc[2, "age"] = np.nan
    build_feature_store(str(tmp_path / "g"), tmp_path / "snps", split, tmp_path / "store", fold="fold0",
                        method="holdout", task="binary", class_names=["control", "case"], covariates=cov)
    store = FeatureStore(tmp_path / "store")
    via_harmonize = hz.harmonize(store.recipe, tmp_path / "g", covariates=cov)
    np.testing.assert_array_equal(via_harmonize.features(), store.rows(np.arange(n)))


# ----------------------------------------------------------------------------- predict: inputs, options
def _model(tmp_path: Path, recipe: dict) -> FinalModel:
    io.write_json(recipe, tmp_path / "recipe.json")
    # the model file does not exist: input checks must fail before any model is loaded
    member = Member("logistic_l1", 0, 1.0, "compact", {"fold0": tmp_path / "none.zip"},
                    {"fold0": tmp_path / "recipe.json"})
    return FinalModel("binary", ["control", "case"], [member], {"kind": "none"}, "single", {})


@pytest.mark.parametrize("case", ["duplicated_ids", "truncated_bed", "wrong_magic", "bad_covariate"])
def test_bad_cohort_stops_before_any_work(tmp_path, case):
    recipe, g, _ = _training_like(3, m=8, n=12)
    snps = recipe["features"][:8]
    fam = _fam(12)
    if case == "duplicated_ids":
        fam.loc[5, ["FID", "IID"]] = fam.loc[2, ["FID", "IID"]].to_numpy()
    io.write_bed(tmp_path / "new", g, _bim([(f["chrom"], f["id"], f["pos"], f["counted"], f["other"]) for f in snps]),
                 fam)
    bed = tmp_path / "new.bed"
    if case == "truncated_bed":
        bed.write_bytes(bed.read_bytes()[:-3])
    if case == "wrong_magic":
        bed.write_bytes(b"BED" + bed.read_bytes()[3:])
    cov = tmp_path / "cov.tsv"
    pd.DataFrame({"FID": fam.FID, "IID": fam.IID, "age": ["51"] * 11 + ["old"]}).to_csv(cov, sep="\t", index=False)
    cohort = Cohort(name="x", genotypes=str(tmp_path / "new"), covariates=str(cov) if case == "bad_covariate" else None)
    expected = {
        "duplicated_ids": r"new\.fam, line 3: sample FID=NF2 IID=NI2 appears 2 times",
        "truncated_bed": r"new\.bed: size \d+ bytes does not match 8 variants",
        "wrong_magic": r"new\.bed: not a PLINK 1 \.bed file",
        "bad_covariate": r"cov\.tsv, line 13: covariate column 'age' = 'old' is not numeric",
    }[case]
    with pytest.raises(InputError, match=expected):
        check_cohort(cohort, _model(tmp_path, recipe), PredictOptions())
    if case != "bad_covariate":  # harmonize() checks the fileset too
        with pytest.raises(InputError, match=expected):
            hz.harmonize(recipe, tmp_path / "new")


def test_cohort_phenotype_is_encoded_like_training(tmp_path):
    p = tmp_path / "ph.tsv"
    pd.DataFrame({"FID": list("abcd"), "IID": list("abcd"), "y": ["2", "1", "0", "NA"],
                  "k": ["sub_b", "sub_b", "sub_a", "NA"]}).to_csv(p, sep="\t", index=False)
    ph = read_cohort_phenotype(p, "y", "binary", ["control", "case"], binary_coding="12")
    assert list(ph.label) == [1, 0] and list(ph.IID) == ["a", "b"]
    ph = read_cohort_phenotype(p, "k", "multiclass", ["sub_a", "sub_b", "sub_c"])  # one class absent: fine
    assert list(ph.label) == [1, 1, 0]
    with pytest.raises(InputError, match=r"line 2: phenotype k = 'sub_b' is not one of the training classes"):
        read_cohort_phenotype(p, "k", "multiclass", ["sub_a", "sub_c", "sub_d"])
    with pytest.raises(InputError, match=r"phenotype y = '2' is not allowed with binary_coding '01'"):
        read_cohort_phenotype(p, "y", "binary", ["control", "case"])


def test_prediction_table_columns():
    samples = pd.DataFrame({"FID": ["a", "b"], "IID": ["a", "b"]})
    t = prediction_table(samples, np.array([0.2, 0.7]), "binary", ["control", "case"],
                         pd.DataFrame({"FID": ["b"], "IID": ["b"], "label": [1]}))
    assert list(t.columns) == ["FID", "IID", "score", "predicted", "prob_control", "prob_case", "observed"]
    assert list(t.predicted) == ["control", "case"] and t.observed.isna().iloc[0] and t.observed.iloc[1] == "case"
    t = prediction_table(samples, np.array([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]]), "multiclass", ["x", "y", "z"])
    assert list(t.predicted) == ["y", "x"] and t.score.tolist() == [0.5, 0.6]
    t = prediction_table(samples, np.array([1.5, -2.0]), "continuous", None)
    assert list(t.columns) == ["FID", "IID", "score", "predicted"]


def test_options_defaults_equal_the_schema():
    d = validate_config(MINIMAL)
    opts = PredictOptions()
    assert d["predict"] == {"cohorts": {}, "min_overlap": opts.min_overlap, "ambiguous_snps": opts.ambiguous_snps,
                            "match_by_position": opts.match_by_position}
    assert list(opts.missing_values) == d["data"]["missing_values"] and opts.binary_coding == d["data"]["binary_coding"]
    assert opts.engine == d["munge"]["engine"] and opts.chunk_variants == d["munge"]["chunk_variants"]
    assert opts.n_bootstrap == d["evaluate"]["n_bootstrap"] and opts.seed == d["seed"]
    with pytest.raises(ConfigError, match="unknown predict option"):
        PredictOptions.from_dict({"min_overlap": 0.5, "min_overlp": 0.3})
    with pytest.raises(ConfigError, match="between 0 and 1"):
        PredictOptions(min_overlap=1.5)


def test_config_predict_section(tmp_path):
    shipped = load_config(REPO / "config" / "config.yaml")
    assert set(shipped["predict"]) == set(validate_config(MINIMAL)["predict"])
    assert shipped["predict"]["cohorts"]["example_new"]["genotypes"] == "resources/example/new_cohort"
    cfg = validate_config({**MINIMAL, "predict": {"cohorts": {"new": {"genotypes": "n", "phenotype": "ph.tsv"}}}})
    assert cfg["predict"]["cohorts"]["new"] == {"genotypes": "n", "sample": None, "vcf_id_delim": None,
                                                "covariates": None, "omics": None, "phenotype": "ph.tsv",
                                                "phenotype_column": None}
    with pytest.raises(ConfigError, match=r"predict\.cohorts\.new\.genotypes: no genotype files at n \(looked for "
                                          r"n\.bed/\.bim/\.fam") as err:
        check_input_paths(cfg)
    assert "predict.cohorts.new.phenotype: file ph.tsv does not exist" in str(err.value)
    with pytest.raises(ConfigError, match=r"predict\.cohorts\.new: unknown key 'covariate' \(did you mean"):
        validate_config({**MINIMAL, "predict": {"cohorts": {"new": {"genotypes": "n", "covariate": "c"}}}})
    assert validate_config({**MINIMAL, "predict": {"cohorts": None}})["predict"]["cohorts"] is None
