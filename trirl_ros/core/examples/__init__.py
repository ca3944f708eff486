"""Experiments that reproduce the paper's small results (discrete grid world, point maze): run by
``trirl examples``, not used by robot training."""
