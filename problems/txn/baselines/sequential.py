"""txn baseline: the transactions in index order 0, 1, ..., n-1 (no scheduling at all)."""


def schedule(workload):
    return list(range(workload.n))
