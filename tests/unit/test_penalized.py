"""Genome-wide penalized GLM (genoml_core.models.penalized): agreement with scikit-learn, training
statistics, unpenalized covariates, CMSA averaging, determinism, shapes, raw-dosage scoring."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import Lasso, LinearRegression, LogisticRegression

# a default learner needs adelie (make setup installs it): fail, never skip. Imported through the
# package, which keeps adelie from pinning this process (and every workflow it starts) to one CPU
from genoml_core.models.penalized.solver import _adelie  # noqa: E402

from genoml_core.errors import InputError  # noqa: E402
from genoml_core.models.penalized import GenomeWideGLM, genotype_stats, glm_path  # noqa: E402

_adelie()


def _genotypes(n: int, p: int, seed: int, missing: float = 0.02) -> np.ndarray:
    rng = np.random.default_rng(seed)
    g = rng.binomial(2, rng.uniform(0.1, 0.5, p), size=(n, p)).astype(np.int8)
    g[rng.random((n, p)) < missing] = -1
    return g


def _standardize(g: np.ndarray, center: np.ndarray | None = None, scale: np.ndarray | None = None) -> np.ndarray:
    """Reference standardization in float64: mean/sd of observed calls, missing -> mean."""
    obs = g >= 0
    if center is None:
        center = np.where(obs, g, 0).sum(axis=0) / obs.sum(axis=0)
        scale = np.sqrt((np.where(obs, g, 0) ** 2).sum(axis=0) / obs.sum(axis=0) - center**2)
    return (np.where(obs, g, center) - center) / scale


def _problem(task: str, n: int = 240, p: int = 120, seed: int = 0, n_classes: int = 3):
    rng = np.random.default_rng(seed + 100)
    g = _genotypes(n, p, seed)
    z = _standardize(g)
    beta = np.zeros(p)
    beta[:8] = rng.normal(0, 0.6, 8)
    cov = rng.normal(size=(n, 2))
    lin = z @ beta + 0.4 * cov[:, 0]
    if task == "binary":
        y = np.where(lin + rng.logistic(size=n) > 0, "case", "control")
    elif task == "multiclass":
        y = np.digitize(lin + rng.normal(0, 0.5, n), np.quantile(lin, np.linspace(0, 1, n_classes + 1)[1:-1]))
    else:
        y = 10.0 + lin + rng.normal(size=n)
    return g, cov, y


SMALL = dict(alphas=(1.0, 0.5), n_inner_folds=3, n_lambdas=30, lambda_min_ratio=1e-2, n_abort=3, min_lambdas=10,
             n_threads=1)
#: multinomial paths are the slowest: a shorter path for them
MULTI = {**SMALL, "alphas": (1.0,), "n_lambdas": 20, "lambda_min_ratio": 0.05, "min_lambdas": 6}


# ----------------------------------------------------------------------------- (a) vs scikit-learn
def test_gaussian_lasso_path_matches_sklearn():
    g, _, y = _problem("continuous", n=200, p=50, seed=1)
    z = _standardize(g)
    path = glm_path(g, y, task="continuous", n_lambdas=12, lambda_min_ratio=0.01, tol=1e-12)
    assert path.lambdas.size == 12 and path.coef.shape == (12, 50)
    # lambda_max: the smallest lambda with all coefficients at 0 (1/n scaling, as scikit-learn's alpha)
    assert np.isclose(path.lambdas[0], np.abs(z.T @ (y - y.mean())).max() / len(y))
    assert not path.coef[0].any() and path.coef[-1].any()
    for lam, coef, b0 in zip(path.lambdas, path.coef, path.intercept):
        sk = Lasso(alpha=lam, tol=1e-12, max_iter=100_000).fit(z, y)
        np.testing.assert_allclose(coef, sk.coef_, atol=2e-5)
        assert np.isclose(b0, sk.intercept_, atol=1e-6)
        np.testing.assert_array_equal(coef != 0, sk.coef_ != 0)


@pytest.mark.parametrize("C", [0.05, 0.5])
def test_logistic_l1_matches_sklearn(C):
    g, _, y = _problem("binary", n=200, p=50, seed=2)
    z = _standardize(g)
    lam = 1.0 / (len(y) * C)  # scikit-learn: C * sum(loss) + |b|; adelie: mean(loss) + lambda |b|
    path = glm_path(g, y, task="binary", lambdas=[lam], tol=1e-12)
    assert list(path.classes) == ["case", "control"]  # the second class is the positive one
    sk = LogisticRegression(C=C, l1_ratio=1.0, solver="saga", tol=1e-10, max_iter=100_000).fit(z, y)
    assert sk.classes_[1] == "control"
    assert (sk.coef_ != 0).sum() >= 2
    np.testing.assert_allclose(path.coef[0], sk.coef_[0], atol=1e-4)
    assert np.isclose(path.intercept[0], sk.intercept_[0], atol=1e-4)


# ----------------------------------------------------------------------------- (b) training statistics
def test_training_statistics_use_training_rows_only_and_missing_takes_the_mean(tmp_path):
    g, cov, y = _problem("binary", n=300, p=60, seed=3)
    train, test = np.arange(200), np.arange(200, 300)
    mm = np.lib.format.open_memmap(tmp_path / "g.npy", mode="w+", dtype=np.int8, shape=g.shape)
    mm[:] = g
    m1 = GenomeWideGLM("binary", random_state=0, **SMALL).fit(mm, y[train], cov[train], rows=train)
    st = genotype_stats(g[train])
    np.testing.assert_allclose(m1.center_, st.center)
    np.testing.assert_allclose(m1.scale_, st.scale)
    obs = g[train] >= 0
    np.testing.assert_allclose(m1.center_, np.where(obs, g[train], 0).sum(0) / obs.sum(0))

    # scrambling the test rows changes nothing learned from the training rows
    mm[test] = np.random.default_rng(9).integers(-1, 3, size=(len(test), g.shape[1]), dtype=np.int8)
    m2 = GenomeWideGLM("binary", random_state=0, **SMALL).fit(mm, y[train], cov[train], rows=train)
    np.testing.assert_array_equal(m1.center_, m2.center_)
    np.testing.assert_array_equal(m1.coef_, m2.coef_)
    assert not np.allclose(genotype_stats(mm).center, m1.center_)  # the scrambled rows would have shifted it

    # a missing call scores exactly like the training mean put in its place
    j = int(np.flatnonzero(m1.allele_weights_)[0])
    row = g[test[:1]].astype(np.float64)
    g_miss = g[test[:1]].copy()
    g_miss[0, j] = -1
    row[0, j] = m1.center_[j]
    row[row < 0] = m1.center_[np.flatnonzero(row[0] < 0)]
    expected = m1.intercept_ + row @ m1.allele_weights_ + cov[test[:1]] @ m1.covariate_weights_
    np.testing.assert_allclose(m1.decision_function(g_miss, cov[test[:1]]), expected, rtol=1e-10)


# ----------------------------------------------------------------------------- (c) covariates
def test_covariates_are_unpenalized():
    g, _, y = _problem("continuous", n=200, p=40, seed=4)
    rng = np.random.default_rng(4)
    cov = rng.normal(size=(200, 1))
    y = y + 0.02 * cov[:, 0]  # a tiny effect
    big = glm_path(g, y, task="continuous", covariates=cov, n_lambdas=3, lambda_min_ratio=0.5)
    # at lambda_max no SNP is in, yet the covariate keeps its least-squares coefficient
    assert not big.coef[0].any()
    ols = LinearRegression().fit((cov - cov.mean()) / cov.std(), y)
    assert big.covariate_coef[0, 0] != 0
    np.testing.assert_allclose(big.covariate_coef[0], ols.coef_, rtol=1e-6)
    huge = glm_path(g, y, task="continuous", covariates=cov, lambdas=[10 * big.lambdas[0]])
    np.testing.assert_allclose(huge.covariate_coef[0], ols.coef_, rtol=1e-6)


# ----------------------------------------------------------------------------- (d) CMSA
@pytest.mark.parametrize("lambda_choice", ["fold", "common"])
def test_cmsa_averages_the_inner_fold_models(lambda_choice):
    g, cov, y = _problem("binary", n=240, p=80, seed=5)
    m = GenomeWideGLM("binary", random_state=1, lambda_choice=lambda_choice, tol=1e-10, **SMALL).fit(g, y, cov)
    K = m.n_inner_folds
    assert m.fold_coef_.shape == (K, 80)
    np.testing.assert_allclose(m.coef_, m.fold_coef_.mean(axis=0))
    if lambda_choice == "common":
        assert len(set(m.fold_lambda_index_)) == 1
    a = list(m.cv_results_["alphas"]).index(m.alpha_)
    fd = m.cv_results_["fold_deviance"][a]
    # each fold model is the path fit on the other folds' rows (same training statistics),
    # taken at the lambda its validation deviance chose
    refit = []
    for k in range(K):
        w = (m.inner_folds_ != k).astype(float)
        path = glm_path(g, y, task="binary", covariates=cov, sample_weight=w, alpha=m.alpha_,
                        lambdas=m.lambdas_[: m.fold_lambda_index_[k] + 1], tol=1e-10)
        refit.append(path.coef[-1])
        np.testing.assert_allclose(path.coef[-1], m.fold_coef_[k], atol=1e-6)
        if lambda_choice == "fold":
            assert m.fold_lambda_index_[k] == np.nanargmin(fd[k])
        val = m.inner_folds_ == k
        eta = path.intercept[-1] + _standardize(g[val], path.center, path.scale) @ path.coef[-1] + (
            (cov[val] - path.covariate_center) / path.covariate_scale) @ path.covariate_coef[-1]
        yv = (y[val] == "control").astype(float)
        assert np.isclose(np.mean(2 * (np.logaddexp(0, eta) - yv * eta)), fd[k, m.fold_lambda_index_[k]], rtol=1e-5)
    np.testing.assert_allclose(m.coef_, np.mean(refit, axis=0), atol=1e-6)
    assert m.n_nonzero_ == int((m.coef_ != 0).sum())
    # the chosen alpha has the best selection score
    assert m.cv_results_["score"][a] == m.cv_results_["score"].min()


# ----------------------------------------------------------------------------- (e) determinism
def test_same_random_state_same_model():
    g, cov, y = _problem("binary", n=200, p=60, seed=6)
    a = GenomeWideGLM("binary", random_state=3, **SMALL).fit(g, y, cov)
    b = GenomeWideGLM("binary", random_state=3, **SMALL).fit(g, y, cov)
    c = GenomeWideGLM("binary", random_state=4, **{**SMALL, "alphas": (1.0,)}).fit(g, y, cov)
    np.testing.assert_array_equal(a.inner_folds_, b.inner_folds_)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.predict_proba(g, cov), b.predict_proba(g, cov))
    np.testing.assert_array_equal(a.cv_results_["fold_deviance"], b.cv_results_["fold_deviance"])
    assert not np.array_equal(a.inner_folds_, c.inner_folds_)
    # stratified: every inner fold has both classes in proportion
    for k in range(a.n_inner_folds):
        frac = np.mean(y[a.inner_folds_ == k] == "case")
        assert abs(frac - np.mean(y == "case")) < 0.05


# ----------------------------------------------------------------------------- (f) tasks and shapes
@pytest.mark.parametrize("task", ["binary", "multiclass", "continuous"])
def test_tasks_fit_and_predict_with_the_right_shapes(task):
    g, cov, y = _problem(task, n=210, p=60, seed=7)
    params = MULTI if task == "multiclass" else SMALL
    m = GenomeWideGLM(task, random_state=0, **params).fit(g, y, cov)
    new = _genotypes(15, 60, seed=70)
    cnew = np.random.default_rng(70).normal(size=(15, 2))
    d = m.decision_function(new, cnew)
    res = m.cv_results_
    # one candidate per (model, alpha): multiclass compares the multinomial and the ordinal model
    n_cand = len(params["alphas"]) * (2 if task == "multiclass" else 1)
    assert res["lambdas"].shape == res["mean_deviance"].shape == (n_cand, params["n_lambdas"])
    assert res["fold_deviance"].shape == (n_cand, params["n_inner_folds"], params["n_lambdas"])
    assert np.isfinite(res["score"]).all() and m.n_nonzero_ > 0
    if task == "continuous":
        assert d.shape == (15,) and m.coef_.shape == (60,)
        np.testing.assert_allclose(m.predict(new, cnew), d)
        assert not hasattr(m, "classes_")
        with pytest.raises(AttributeError):
            m.predict_proba(new, cnew)
        assert np.corrcoef(m.predict(g, cov), y)[0, 1] > 0.5
    else:
        K = len(np.unique(y))
        proba = m.predict_proba(new, cnew)
        assert proba.shape == (15, K) and list(m.classes_) == sorted(set(y))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        assert set(m.predict(new, cnew)) <= set(m.classes_)
        if task == "multiclass":
            assert d.shape == (15, K) and m.coef_.shape == (60, K) and m.intercept_.shape == (K,)
            np.testing.assert_array_equal(m.predict(new, cnew), m.classes_[proba.argmax(axis=1)])
        else:
            assert d.shape == (15,)
            np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-d)))


# ----------------------------------------------------------------------------- (g) raw dosages
def test_decision_function_from_raw_dosages_equals_standardized_scale():
    g, cov, y = _problem("multiclass", n=210, p=70, seed=8)
    m = GenomeWideGLM("multiclass", random_state=0, batch_bytes=70 * 16, **{**MULTI, "n_threads": 2})
    m.fit(g, y, cov)
    new = _genotypes(50, 70, seed=80, missing=0.1)
    cnew = np.random.default_rng(80).normal(size=(50, 2))
    cnew[3, 1] = np.nan  # a missing covariate takes its training mean
    z = _standardize(new, m.center_, m.scale_)
    cz = np.nan_to_num((cnew - m.covariate_center_) / m.covariate_scale_)
    expected = m.intercept_std_ + z @ m.coef_ + cz @ m.covariate_coef_
    np.testing.assert_allclose(m.decision_function(new, cnew), expected, rtol=1e-9, atol=1e-12)
    rows = np.array([5, 1, 40])
    np.testing.assert_allclose(m.decision_function(new, cnew[rows], rows=rows), expected[rows], rtol=1e-9)


def test_bad_inputs_raise():
    g, cov, y = _problem("binary", n=120, p=20, seed=9)
    with pytest.raises(InputError, match="int8"):
        GenomeWideGLM("binary").fit(g.astype(np.float64), y)
    bad = g.copy()
    bad[0, 0] = 3
    with pytest.raises(InputError, match="outside"):
        GenomeWideGLM("binary").fit(bad, y)
    with pytest.raises(InputError, match="exactly 2 classes"):
        GenomeWideGLM("binary").fit(g, np.arange(120) % 3)


def test_column_blocks_do_not_change_the_fit():
    g, cov, y = _problem("binary", n=150, p=45, seed=10)
    one = glm_path(g, y, task="binary", covariates=cov, n_lambdas=8, lambda_min_ratio=0.1, tol=1e-10)
    many = glm_path(g, y, task="binary", covariates=cov, n_lambdas=8, lambda_min_ratio=0.1, tol=1e-10,
                    block_bytes=150 * 7)  # 7 SNPs per .snpdat block: 7 blocks
    np.testing.assert_array_equal(one.center, many.center)
    np.testing.assert_allclose(one.lambdas, many.lambdas)
    np.testing.assert_allclose(one.coef, many.coef, atol=1e-9)
    assert one.coef[-1].any()


# ----------------------------------------------------------------------------- (g) ordinal vs multinomial
def _three_classes(kind: str, n: int, seed: int):
    """3 classes from SNPs: ``ordered`` cuts one liability at its terciles; ``nominal`` makes
    class 1 and class 2 depend on two different sets of SNPs (no single score orders them)."""
    rng = np.random.default_rng(seed)
    g = _genotypes(n, 60, seed)
    z = _standardize(g)
    cov = rng.normal(size=(n, 2))
    if kind == "ordered":
        lin = z[:, :12] @ rng.normal(0, 0.45, 12)
        y = np.digitize(lin + rng.normal(0, 0.6, n), np.quantile(lin, [1 / 3, 2 / 3]))
    else:
        eta = np.column_stack([np.zeros(n), 1.6 * z[:, :6].sum(axis=1) / 2.4, 1.6 * z[:, 6:12].sum(axis=1) / 2.4])
        p = np.exp(eta - eta.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        y = (rng.random(n)[:, None] > p.cumsum(axis=1)).sum(axis=1)
    return g, cov, y


def _macro_auc(y, eta):
    from scipy.special import softmax
    from sklearn.metrics import roc_auc_score

    p = softmax(eta, axis=1)
    return np.mean([roc_auc_score(y == k, p[:, k]) for k in range(p.shape[1])])


@pytest.mark.parametrize("kind,expected", [("ordered", "ordinal"), ("nominal", "multinomial")])
def test_multiclass_auto_picks_the_model_that_fits_by_inner_cv(kind, expected):
    """``auto`` compares the grouped multinomial and the ordinal (rank-1) model on one inner-CV
    deviance scale: ordered classes (a liability cut in three) pick the ordinal model, classes
    driven by different SNPs pick the multinomial; the pick scores new people at least as well as
    the other model, and it is an ordinary linear predictor per class."""
    g, cov, y = _three_classes(kind, 1200, seed=5)
    tr, te = np.arange(900), np.arange(900, 1200)
    params = MULTI
    auto = GenomeWideGLM("multiclass", random_state=0, **params).fit(g, y[tr], cov[tr], rows=tr)
    assert auto.multiclass_model_ == expected
    assert set(auto.cv_results_["models"]) == {"multinomial", "ordinal"}
    other = "multinomial" if expected == "ordinal" else "ordinal"
    alt = GenomeWideGLM("multiclass", random_state=0, multiclass_model=other, **params).fit(g, y[tr], cov[tr], rows=tr)
    assert alt.multiclass_model_ == other
    score = {m.multiclass_model_: _macro_auc(y[te], m.decision_function(g, cov[te], rows=te)) for m in (auto, alt)}
    assert score[expected] >= score[other] - 0.005, score
    eta = auto.decision_function(g, cov[te], rows=te)
    assert eta.shape == (300, 3)
    if expected == "ordinal":  # rank 1: every class's SNP weights are multiples of one vector
        W = auto.allele_weights_[np.abs(auto.allele_weights_).sum(axis=1) > 0]
        assert np.linalg.matrix_rank(W, tol=1e-8 * np.abs(W).max()) == 1


def test_multiclass_model_is_checked():
    g, cov, y = _problem("multiclass", n=120, p=20, seed=3)
    with pytest.raises(Exception, match="multiclass_model"):
        GenomeWideGLM("multiclass", multiclass_model="cumulative", **MULTI).fit(g, y, cov)


# ----------------------------------------------------------------------------- the solver's import
def test_importing_the_solver_leaves_the_process_on_every_cpu_and_its_environment_alone():
    """adelie's __init__ sets OMP_PROC_BIND=TRUE (and three more OpenMP variables) in os.environ
    before loading its libgomp, which then pins the importing process to one CPU: every later
    thread and child process (a pytest worker's Snakemake runs, a job's BLAS threads) inherited
    it. In a fresh interpreter, as the import happens once per process."""
    import json
    import subprocess
    import sys

    code = (
        "import json, os\n"
        "env0 = {k: os.environ.get(k) for k in ('OMP_PROC_BIND', 'GOMP_SPINCOUNT', 'KMP_BLOCKTIME')}\n"
        "cpus0 = sorted(os.sched_getaffinity(0))\n"
        "from genoml_core.models.penalized.solver import _adelie\n"
        "_adelie()\n"
        "import subprocess\n"
        "child = subprocess.run(['python3', '-c', 'import os; print(sorted(os.sched_getaffinity(0)))'],\n"
        "                       capture_output=True, text=True, check=True).stdout.strip()\n"
        "print(json.dumps({'env0': env0, 'cpus0': cpus0, 'cpus': sorted(os.sched_getaffinity(0)), 'child': child,\n"
        "                  'env': {k: os.environ.get(k) for k in env0}}))\n"
    )
    env = {k: v for k, v in __import__("os").environ.items()
           if k not in ("OMP_PROC_BIND", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")}
    out = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                    env=env).stdout)
    assert out["env"] == out["env0"] == {"OMP_PROC_BIND": None, "GOMP_SPINCOUNT": None, "KMP_BLOCKTIME": None}
    assert out["cpus"] == out["cpus0"]
    assert out["child"] == str(out["cpus0"])
    if len(out["cpus0"]) < 2:
        pytest.skip("one CPU: the pinning cannot show here (the environment checks above ran)")


@pytest.mark.parametrize("user", [None, "true"])
def test_adelie_sees_omp_proc_bind_false_unless_the_user_set_it(tmp_path, user):
    """With a stand-in adelie that records what its libgomp would read and sets its variables as the
    real one does: unset -> it loads with ``false``; set by the user -> with the user's value. Either
    way the environment is as before afterwards."""
    import json
    import os
    import subprocess
    import sys

    fake = tmp_path / "adelie"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "import os\nSEEN = os.environ.get('OMP_PROC_BIND')\n"
        "os.environ.setdefault('OMP_PROC_BIND', 'TRUE')\nos.environ.setdefault('GOMP_SPINCOUNT', '1000000')\n")
    code = ("import json, os\nfrom genoml_core.models.penalized.solver import _adelie\nad = _adelie()\n"
            "print(json.dumps([ad.__file__, ad.SEEN, os.environ.get('OMP_PROC_BIND'), "
            "os.environ.get('GOMP_SPINCOUNT')]))")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_PROC_BIND", "GOMP_SPINCOUNT")}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env.get("PYTHONPATH", "")])
    if user is not None:
        env["OMP_PROC_BIND"] = user
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    path, seen, after, spin = json.loads(out.stdout)
    assert Path(path).parent == fake  # the stand-in, not the real package
    assert seen == (user or "false")
    assert (after, spin) == (user, None)
