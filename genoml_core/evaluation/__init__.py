"""Evaluation: metrics, the final model chosen on out-of-fold predictions, the one test evaluation.

- :mod:`.metrics`: metrics of the three tasks with bootstrap confidence intervals.
- :mod:`.ensemble`: the final model: members, stack weights, calibrator (``select_final``).
- :mod:`.evaluate`: the leaderboard and the one held-out evaluation.
- :mod:`.fairness`: held-out performance per subgroup.
- :mod:`.plots`: the evaluation figures.

Import the modules themselves (``from genoml_core.evaluation import metrics``); this package
re-exports nothing.
"""
