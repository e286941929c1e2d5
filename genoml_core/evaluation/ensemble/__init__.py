"""The final model, chosen once on out-of-fold predictions: members, stack weights, calibrator.

Every trial predicts the rows it did not train on (its fold's validation part), so each learner's
best trial has an out-of-fold (OOF) score for every development person (``oof.tsv``). From those
alone, :func:`select_final` decides

1. **the members and their weights**: greedy ensemble selection with replacement (Caruana et al.
   2004, as in AutoGluon): start from the best learner, repeatedly add the learner (again, if it
   helps) whose inclusion most improves the OOF selection metric of the weighted mean of member
   scores (class probabilities, or trait values), and keep the best round. The weights are the
   counts; a learner never chosen gets no weight.
2. **whether to stack at all**: the whole procedure (best single learner vs ensemble selection) is
   cross-fitted over 5 seeded folds of the OOF rows: each fold's rows are scored by weights chosen
   on the other four. The ensemble is used only when its cross-fitted metric beats the best
   single learner's cross-fitted metric by more than :data:`STACK_MIN_GAIN`; otherwise the best
   learner alone is the final model.
3. **a calibrator** for the combined score, chosen by cross-fitted OOF log loss (classification)
   or squared error (continuous): binary ``none | platt | isotonic``; multiclass ``none | platt``
   (multinomial Platt / vector scaling: ``softmax(a * log p + b)``); continuous ``none | linear``.
   Balanced class weights shift probabilities towards 0.5; calibration brings ``prob_case`` back
   to the observed risk.

The test set plays no part: it is scored once, by :class:`FinalModel`, in ``evaluate``. The result
is a JSON document (``results/final/final_model.json``) read by evaluate, explain, predict, the
report and ``genoml-predict``; nothing downstream re-picks a winner.

One module per concern:

* :mod:`~genoml_core.evaluation.ensemble.oof`: OOF tables (:func:`oof_frame`, :func:`read_oof`).
* :mod:`~genoml_core.evaluation.ensemble.calibration`: :func:`fit_calibrator`, :func:`apply_calibrator`.
* :mod:`~genoml_core.evaluation.ensemble.selection`: :func:`combine`, :func:`caruana_weights`,
  :func:`select_final`, :func:`decision_cutoff`.
* :mod:`~genoml_core.evaluation.ensemble.final`: the final model's file (:class:`FinalModel`,
  :func:`final_model_document`).

Every name below is importable from :mod:`genoml_core.evaluation.ensemble` itself.
"""

from __future__ import annotations

from .calibration import CALIBRATORS as CALIBRATORS
from .calibration import apply_calibrator, fit_calibrator
from .final import final_model_document as final_model_document
from .final import FinalModel, Member
from .oof import oof_frame, read_oof, score_columns
from .selection import N_CROSSFIT as N_CROSSFIT
from .selection import STACK_MIN_GAIN as STACK_MIN_GAIN
from .selection import Candidate as Candidate
from .selection import FINAL_FORMAT, caruana_weights, combine, decision_cutoff, select_final

__all__ = [
    "FINAL_FORMAT",
    "FinalModel",
    "Member",
    "apply_calibrator",
    "caruana_weights",
    "combine",
    "decision_cutoff",
    "fit_calibrator",
    "oof_frame",
    "read_oof",
    "score_columns",
    "select_final",
]
