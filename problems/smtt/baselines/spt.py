"""SMTT baseline: shortest processing time (SPT) order, ties by job index. Needs only numpy."""

import numpy as np


def schedule(p, d):
    return np.argsort(np.asarray(p), kind="stable")
