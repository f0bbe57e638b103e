"""Weights of a weighted sample (a calibration's posterior: each distinct parameter set weighted by
the share of particles holding it): how many of its members count."""

from __future__ import annotations

import numpy as np


def effective_size(weights: np.ndarray) -> float:
    """Kish's effective sample size of the weights, normalised: 1 / Σ w² (n for equal weights, 1
    when one member holds all the weight)."""
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    return float(1.0 / np.sum(w * w))
