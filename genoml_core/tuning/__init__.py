"""Hyperparameter trials: search spaces, deterministic draws, and each trial's fit over the folds.

- :mod:`.search`: seeded draws from plain-dict search spaces.
- :mod:`.net_spaces`: the networks' default search spaces.
- :mod:`.tune`: one trial of one learner, bagged over the folds, with out-of-fold predictions.

Import the modules themselves (``from genoml_core.tuning import tune``); this package re-exports
nothing.
"""
