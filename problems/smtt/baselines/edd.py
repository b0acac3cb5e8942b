"""SMTT baseline: earliest due date (EDD) order, ties by job index. Needs only numpy."""

import numpy as np


def schedule(p, d):
    return np.argsort(np.asarray(d), kind="stable")
