"""TRIRL algorithms: trust-region projection, discrete TRIRL, continuous TRIRL and baselines."""
