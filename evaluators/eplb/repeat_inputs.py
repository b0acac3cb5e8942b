"""Sandbox support module: the arguments of each timed run of ``rebalance_experts``.

Copied next to the candidate and used as the evaluator's ``adapter``. The sandbox times every call
as a warm-up plus the median of repeated runs on the same window; here each run gets the window's
load multiplied by a different positive integer (1..16 in turn). Balancedness does not depend on the
scale, so honest programs place the same way, while a program that caches answers by input sees a
new input every run and gains nothing. Needs only numpy; the evaluator scores the last run's answer
against the unscaled window.
"""

_runs = 0


def scaled_weight(weight, **sizes):
    """Keyword arguments for the next run: ``weight`` times a factor that changes every run."""
    global _runs
    _runs += 1
    return {"weight": weight * (1 + _runs % 16), **sizes}
