"""The table: every learner declared once (:data:`REGISTRY`)."""

from __future__ import annotations

from .learner import Learner
from .spaces import (
    _c,
    _covariance_bytes,
    _f,
    _forest,
    _i,
    _kernel_cache_bytes,
    _nas_top_k,
    _net_space,
    _retrain_space,
    _sgd_space,
    _tree_node_bytes,
)

# ----------------------------------------------------------------------------- the registry
_CLF = frozenset({"binary", "multiclass"})
_REG = frozenset({"continuous"})
_ALL = _CLF | _REG
_L = "genoml_core.models.learners.builders:"  # the classical builders
_NET = "genoml_core.models.estimators:make_net"

# fit_bytes_per_value: measured slope (bench/bench_fit_memory.py, BENCHMARKS.md), rounded up with
# ~2-4 B margin; the float32 rows from the store (4) plus each learner's own copies.
# The default set was chosen by measurement (bench/bench_quality.py, BENCHMARKS.md): penalized_glm
# beside logistic_l2 / ridge, random_forest and xgboost beat a cross-validated lasso on all SNPs and
# the former all-learner default, in a fifth of its time; the others train when listed.
_DECLARED = [
    # --- classifiers -----------------------------------------------------------------------
    Learner(
        name="logistic_l1", tasks=_CLF, kind="classical", feature_set="compact",
        builder=_L + "_logistic_l1", fixed=frozenset({"penalty", "l1_ratio"}),
        space={"C": _f(1e-3, 10.0, log=True, default=0.1)},
        fit_bytes_per_value=40.0,  # 36.0 measured: liblinear (binary) float64 copy + 16-byte feature nodes
        explainer="linear", default=False, self_tuning=False,
        description="L1-penalized logistic regression (liblinear binary, saga multiclass)",
    ),
    Learner(
        name="logistic_l2", tasks=_CLF, kind="classical", feature_set="compact",
        builder=_L + "_logistic_l2", fixed=frozenset({"penalty", "l1_ratio"}),
        space={"C": _f(1e-3, 10.0, log=True, default=0.01)},
        fit_bytes_per_value=8.0,  # 5.2: lbfgs takes the float32 rows as they are
        explainer="linear", default=True, self_tuning=False,
        description="L2-penalized logistic regression (lbfgs)",
    ),
    Learner(
        name="logistic_elasticnet", tasks=_CLF, kind="classical", feature_set="compact",
        builder=_L + "_logistic_elasticnet", fixed=frozenset({"penalty"}),
        space={"C": _f(1e-3, 10.0, log=True, default=0.1), "l1_ratio": _f(0.1, 0.9, default=0.5)},
        fit_bytes_per_value=8.0,  # 5.2: saga, float32 as is
        explainer="linear", default=False, self_tuning=False,
        description="elastic-net logistic regression (saga)",
    ),
    Learner(
        name="random_forest", tasks=_ALL, kind="classical", feature_set="compact",
        builder=_L + "_random_forest", space=_forest(),
        fit_bytes_per_value=8.0, memory_extra=_tree_node_bytes,  # 5.3 (+ tree nodes)
        explainer="tree", default=True, self_tuning=False,
        description="random forest",
    ),
    Learner(
        name="extra_trees", tasks=_CLF, kind="classical", feature_set="compact",
        builder=_L + "_extra_trees", space=_forest(),
        fit_bytes_per_value=8.0, memory_extra=_tree_node_bytes,  # 5.2 (+ tree nodes)
        explainer="tree", default=False, self_tuning=False,
        description="extremely randomized trees",
    ),
    Learner(
        name="xgboost", tasks=_ALL, kind="classical", feature_set="compact",
        builder=_L + "_xgboost",
        space={
            "n_estimators": _i(100, 600, default=300),
            "max_depth": _i(2, 6, default=3),
            "learning_rate": _f(0.01, 0.3, log=True, default=0.05),
            "subsample": _f(0.6, 1.0, default=0.8),
            "colsample_bytree": _f(0.3, 1.0, default=0.5),
            "min_child_weight": _i(1, 10, default=1),
            "reg_lambda": _f(0.1, 10.0, log=True, default=1.0),
        },
        fit_bytes_per_value=42.0,  # 38.8: the sklearn wrapper's DMatrix copies, quantile bins, validation rows
        explainer="tree", default=True, self_tuning=False,
        description="gradient-boosted trees (XGBoost, hist)",
    ),
    Learner(
        name="svm_linear", tasks=_CLF, kind="classical", feature_set="compact",
        builder=_L + "_svm_linear", wrap=_L + "_calibrate",
        space={"C": _f(1e-4, 1.0, log=True, default=1e-2)},
        fit_bytes_per_value=36.0,  # 29.3: liblinear inside 3-fold calibration
        # exact for binary (Platt-scaled linear log-odds); explain falls back to permutation otherwise
        explainer="linear", default=False, self_tuning=False,
        description="linear SVM (liblinear) with Platt-scaled probabilities",
    ),
    Learner(
        name="svm_rbf", tasks=_CLF, kind="classical", feature_set="compact",
        builder=_L + "_svm_rbf", wrap=_L + "_calibrate", fixed=frozenset({"kernel", "probability"}),
        space={"C": _f(1e-2, 100.0, log=True, default=1.0), "gamma": _c(["scale", 1e-4, 1e-3, 1e-2], default="scale")},
        fit_bytes_per_value=26.0, memory_extra=_kernel_cache_bytes,  # 22.4 (+ kernel cache)
        explainer="permutation", default=False, self_tuning=False,
        description="RBF-kernel SVM with Platt-scaled probabilities",
    ),
    Learner(
        name="knn", tasks=_CLF, kind="classical", feature_set="compact",
        builder=_L + "_knn",
        space={
            "n_neighbors": _i(5, 101, log=True, default=15),
            "weights": _c(["uniform", "distance"], default="uniform"),
        },
        fit_bytes_per_value=8.0,  # 5.3: the model keeps the float32 rows
        explainer="permutation", default=False, self_tuning=False,
        description="k-nearest neighbours (no class weighting possible)",
    ),
    Learner(
        name="lda", tasks=_CLF, kind="classical", feature_set="compact",
        builder=_L + "_lda", fixed=frozenset({"priors"}),
        space={"shrinkage": _c(["auto", 0.01, 0.1, 0.3, 0.6, 0.9], default="auto")},
        # (+ the p x p covariance; 148 B/value at 2,000 x 8,000 is that term)
        fit_bytes_per_value=16.0, memory_extra=_covariance_bytes,
        explainer="linear", default=False, self_tuning=False,
        description="shrinkage linear discriminant analysis (lsqr)",
    ),
    # --- regressors (random_forest and xgboost above serve both); penalties (alpha) assume the
    # standardized target that make_learner fits on ---------------------------------------------
    Learner(
        name="ridge", tasks=_REG, kind="classical", feature_set="compact",
        builder=_L + "_ridge", wrap=_L + "_standardize_target",
        space={"alpha": _f(1e-2, 1e5, log=True, default=100.0)},
        fit_bytes_per_value=12.0,  # 7.7
        explainer="linear", default=True, self_tuning=False,
        description="ridge regression",
    ),
    Learner(
        name="lasso", tasks=_REG, kind="classical", feature_set="compact",
        builder=_L + "_lasso", wrap=_L + "_standardize_target",
        space={"alpha": _f(1e-4, 1.0, log=True, default=1e-2)},
        fit_bytes_per_value=20.0,  # float64 Fortran-ordered copy + centred copy
        explainer="linear", default=False, self_tuning=False,
        description="lasso regression",
    ),
    Learner(
        name="elastic_net", tasks=_REG, kind="classical", feature_set="compact",
        builder=_L + "_elastic_net", wrap=_L + "_standardize_target",
        space={"alpha": _f(1e-4, 1.0, log=True, default=1e-2), "l1_ratio": _f(0.1, 0.9, default=0.5)},
        fit_bytes_per_value=20.0,
        explainer="linear", default=False, self_tuning=False,
        description="elastic-net regression",
    ),
    Learner(
        name="svr", tasks=_REG, kind="classical", feature_set="compact",
        builder=_L + "_svr", wrap=_L + "_standardize_target", fixed=frozenset({"kernel"}),
        space={
            "C": _f(1e-2, 100.0, log=True, default=1.0),
            "epsilon": _f(1e-2, 1.0, log=True, default=0.1),
            "gamma": _c(["scale", 1e-4, 1e-3, 1e-2], default="scale"),
        },
        fit_bytes_per_value=26.0, memory_extra=_kernel_cache_bytes,
        explainer="permutation", default=False, self_tuning=False,
        description="RBF-kernel support vector regression",
    ),
    Learner(
        name="svr_linear", tasks=_REG, kind="classical", feature_set="compact",
        builder=_L + "_svr_linear", wrap=_L + "_standardize_target",
        space={"C": _f(1e-4, 1.0, log=True, default=1e-2), "epsilon": _f(1e-3, 1.0, log=True, default=0.1)},
        fit_bytes_per_value=36.0,
        explainer="linear", default=False, self_tuning=False,
        description="linear support vector regression (liblinear)",
    ),
    # --- out of core (SGD over batches of the int8 store: memory independent of the samples) ---
    Learner(
        name="logistic_l1_sgd", tasks=_CLF, kind="streaming", feature_set="compact",
        builder=_L + "_logistic_l1_sgd", fixed=frozenset({"loss", "penalty"}), space=_sgd_space(),
        fit_bytes_per_value=None, explainer="linear", default=False, self_tuning=False,
        description="L1 logistic regression by SGD, out of core (batches from the int8 store)",
    ),
    Learner(
        name="logistic_l2_sgd", tasks=_CLF, kind="streaming", feature_set="compact",
        builder=_L + "_logistic_l2_sgd", fixed=frozenset({"loss", "penalty"}), space=_sgd_space(),
        fit_bytes_per_value=None, explainer="linear", default=False, self_tuning=False,
        description="L2 logistic regression by SGD, out of core (batches from the int8 store)",
    ),
    # --- genome-wide: every QC'd SNP, int8, read by the learner itself (genoml_core.models.genome_learner);
    # tuned by its own inner CV (alpha grid x lambda path, CMSA): one trial with these settings; its
    # model is written as a linear model on the recipe's scaled features
    Learner(
        name="penalized_glm", tasks=_ALL, kind="classical", feature_set="genome",
        builder=_L + "_penalized_glm", fixed=frozenset({"task", "n_threads"}),
        # alphas: the elastic-net mixing grid of the inner CV, comma-separated. Default "1", the lasso
        # (bigstatsr's default too): alpha 1 won all 13 inner-CV choices measured on the 4-value grid
        # (additive, sparse, epistatic cohorts) and gave the same held-out AUC for a quarter of the time
        # multiclass_model (several classes only): "auto" lets the inner CV choose between the grouped
        # multinomial and the ordinal (rank-1) model by out-of-fold deviance
        space={"n_inner_folds": _c([5], default=5), "lambda_choice": _c(["fold", "common"], default="fold"),
               "alphas": _c(["1", "1,0.5", "1,0.5,0.1", "1,0.5,0.1,0.01"], default="1"),
               "multiclass_model": _c(["auto", "multinomial", "ordinal"], default="auto")},
        fit_bytes_per_value=None, explainer="linear", default=True, self_tuning=True,
        description="genome-wide elastic-net GLM on every QC'd SNP (adelie; inner CV, CMSA)",
    ),
    Learner(
        name="linear_sgd", tasks=_REG, kind="streaming", feature_set="compact",
        builder=_L + "_linear_sgd", fixed=frozenset({"loss", "penalty"}), space=_sgd_space(l1_ratio=True),
        fit_bytes_per_value=None, explainer="linear", default=False, self_tuning=False,
        description="elastic-net linear regression by SGD, out of core (standardized target)",
    ),
    # --- PyTorch networks (AutoGenome, TabM): streamed batches, every task, trained when listed ----
    Learner(
        name="mlp", tasks=_ALL, kind="net", feature_set="compact", builder=_NET, space=_net_space("mlp"),
        fit_bytes_per_value=None, explainer="gradient", default=False, self_tuning=False,
        description="multilayer perceptron (PyTorch)",
    ),
    Learner(
        name="rfcn_resnet", tasks=_ALL, kind="net", feature_set="compact", builder=_NET,
        space=_net_space("rfcn_resnet"),
        fit_bytes_per_value=None, explainer="gradient", default=False, self_tuning=False,
        description="residual fully connected network, RFCN-ResNet (AutoGenome; PyTorch)",
    ),
    Learner(
        name="rfcn_densenet", tasks=_ALL, kind="net", feature_set="compact", builder=_NET,
        space=_net_space("rfcn_densenet"),
        fit_bytes_per_value=None, explainer="gradient", default=False, self_tuning=False,
        description="densely connected fully connected network, RFCN-DenseNet (AutoGenome; PyTorch)",
    ),
    Learner(
        name="tabm", tasks=_ALL, kind="net", feature_set="compact", builder=_NET, space=_net_space("tabm"),
        fit_bytes_per_value=None, explainer="gradient", default=False, self_tuning=False,
        description="TabM, an ensemble of k MLPs in one network (Gorishniy et al. 2025; the tabm package)",
    ),
    Learner(
        name="rrfcn", tasks=_ALL, kind="searched_net", feature_set="compact", builder=_NET,
        space=_retrain_space, n_trials=_nas_top_k,
        fit_bytes_per_value=None, explainer="gradient", default=False, self_tuning=False,
        description="randomly wired network from the architecture search, retrained (genoml_core.models.nas)",
    ),
]

#: name -> :class:`Learner`, in declaration order (the order of listings and default sets).
REGISTRY: dict[str, Learner] = {spec.name: spec for spec in _DECLARED}
assert len(REGISTRY) == len(_DECLARED), "duplicate learner names"
