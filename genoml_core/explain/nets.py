"""SHAP values of PyTorch nets: expected gradients (``shap.GradientExplainer``) or DeepLIFT
(``shap.DeepExplainer``) of the logits, the prediction or (score space) the probabilities."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Sequence

import numpy as np

from .base import AdditivityError, ExplainOptions, Explanation, _as_2d, _as_3d, _class_labels, _name, _space


@contextlib.contextmanager
def _eval_mode(module: Any) -> Iterator[None]:
    """Switch a torch module (and every submodule) to eval mode; restore each one's mode after."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for m, training in modes:
            m.training = training


def _explained_net(est: Any, task: str, probability: bool = False) -> Any:
    """A torch module giving the explained output of a net: binary logit_1 - logit_0, multiclass
    logits, continuous the prediction in phenotype units; with ``probability``, P(class 1) (binary)
    or the class probabilities (multiclass) instead."""
    import torch

    class ExplainedOutput(torch.nn.Module):
        def __init__(self, module: torch.nn.Module) -> None:
            super().__init__()
            self.net = module

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.net(x)
            if probability and task != "continuous":
                prob = torch.softmax(out, dim=1)
                return prob[:, 1:2] if task == "binary" else prob
            if task == "binary":
                return out[:, 1:2] - out[:, 0:1]
            if task == "continuous":
                return out[:, 0:1] * float(est.y_scale_) + float(est.y_mean_)
            return out

    return ExplainedOutput(est.module_)


def _explain_torch(est: Any, background: np.ndarray, X: np.ndarray, task: str, class_names: Sequence[str] | None,
                   method: str, options: ExplainOptions, seed: int, threads: int,
                   probability: bool = False) -> Explanation:
    import shap
    import torch

    from ..runtime import set_threads

    n, p = X.shape
    device = getattr(est, "device_", torch.device("cpu"))
    wrapper = _explained_net(est, task, probability)
    previous = set_threads(threads)
    try:
        with _eval_mode(est.module_):
            bg = torch.as_tensor(np.asarray(background, dtype=np.float32), device=device)
            xt = torch.as_tensor(np.asarray(X, dtype=np.float32), device=device)
            with torch.no_grad():
                outputs = wrapper(xt).double().cpu().numpy()
                bg_mean = wrapper(bg).double().mean(dim=0).cpu().numpy()
            details: dict[str, Any] = {"background_rows": int(len(background))}
            if method == "gradient":
                explainer = shap.GradientExplainer(wrapper, bg, batch_size=options.gradient_nsamples)
                raw = explainer.shap_values(xt, nsamples=options.gradient_nsamples, rseed=seed)
                base = bg_mean
                details["nsamples"] = options.gradient_nsamples
                name = "shap.GradientExplainer"
            else:
                explainer = shap.DeepExplainer(wrapper, bg)
                try:
                    raw = explainer.shap_values(xt, check_additivity=True)
                except AssertionError as err:
                    raise AdditivityError(
                        f"DeepExplainer's SHAP values do not add up to the model output for this network ({err}); "
                        "set explain.method: gradient (or auto)"
                    ) from err
                base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
                name = "shap.DeepExplainer"
            wrapper.zero_grad(set_to_none=True)
    finally:
        set_threads(previous)
    values = _as_3d(raw, n, p)
    m = values.shape[2]
    labels = _class_labels(est)
    if task == "continuous":
        names = ["prediction"]
    elif task == "binary":
        assert labels is not None  # a classifier has classes_
        names = [_name(labels[-1], class_names)]
    else:
        assert labels is not None  # a classifier has classes_
        names = [_name(c, class_names) for c in labels]
    base2 = np.broadcast_to(np.asarray(base, dtype=np.float64).reshape(1, -1), (n, m)).copy()
    kind = "probability" if probability else "log-odds"
    exp = Explanation(values, base2, _as_2d(outputs, n), names, _space(task, kind, m, names), method, name,
                      [], np.arange(n), exact=method == "deep", details=details)
    if method == "gradient":
        exp.notes.append("expected gradients approximate SHAP values: values + base match the output only "
                         "approximately (see the additivity error)")
    return exp
