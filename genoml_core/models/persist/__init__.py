"""Model files without pickle: one zip per model, with its metadata inside.

Layout of the zip written by :func:`save_model`::

    meta.json            caller's meta + format_version, kind, learner_class, versions
    payload/...          the model, by kind:
        sklearn          payload/model.skops       (skops.io, no pickle)
        xgboost          payload/booster.json      (XGBoost's own JSON model)
                         payload/wrapper.json      (wrapper class, params, original labels)
        <custom kind>    payload/<files written by est.save(dir)>

Custom kinds: an estimator with attribute ``_genoml_kind`` (e.g. ``"torch"``) is saved by
calling ``est.save(directory)``; loading calls the loader registered with
:func:`register_kind`. ``"torch"`` is pre-registered with a lazy loader that imports
``genoml_core.models.estimators`` and calls ``NetEstimator.load(directory)``.

Trust policy (a model file must never run code when it is loaded): a skops payload may
hold only skops' own default-trusted types plus the exact type names in
:data:`SKOPS_TRUSTED_TYPES`, the reviewed list of what this workflow's learners write (never
whole packages: NumPy alone has functions that ``exec`` a string, and skops calls a type it
trusts with arguments taken from the file). Nodes that reference or call a named function
(function, method, partial, operator and constructor-from-reduce nodes) are refused unless
their exact name is listed; the learners write none. An XGBoost payload names its wrapper
class: only the exact classes in :data:`XGBOOST_CLASSES` are accepted, checked before
anything is imported, and its params must be plain JSON scalars. Anything else raises
:class:`UntrustedTypesError`. :func:`save_model` applies the same checks, so a model that
could not be loaded again fails when it is trained, not when it is evaluated.

One module per concern: :mod:`~genoml_core.models.persist.trust` (the allow-lists, the skops audit and
the checked loading of a skops or XGBoost payload) and :mod:`~genoml_core.models.persist.archive` (the
zip, the model kinds, :func:`save_model` and :func:`load_model`). Every public name is importable from
:mod:`genoml_core.models.persist` itself; the kinds' loaders live in
``persist.archive._LOADERS``.
"""

from __future__ import annotations

from .archive import FORMAT_VERSION, load_model, register_kind, registered_kinds, save_model
from .archive import Loader as Loader
from .archive import log as log
from .trust import SKOPS_TRUSTED_TYPES, XGBOOST_CLASSES, UntrustedTypesError

__all__ = [
    "FORMAT_VERSION",
    "SKOPS_TRUSTED_TYPES",
    "XGBOOST_CLASSES",
    "UntrustedTypesError",
    "register_kind",
    "registered_kinds",
    "save_model",
    "load_model",
]
