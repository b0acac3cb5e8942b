"""SMTT baseline: EDD Challenger (EDDC), the LLM-discovered heuristic of Cetinkaya et al.,
"Discovering Heuristics with LLMs for MIPs: Single-Machine Scheduling" (arXiv 2510.24013). Numpy only.

Start from SPT order (ties by earlier due date, then index), then make one insertion-sort pass
towards EDD: the job at position i walks back while it has an earlier due date than its left
neighbour; at each step the two are swapped only if the left neighbour's due date exceeds the start
time of the right one's position (the left job would finish early, so letting the more urgent job
pass costs it little). The walk continues even when a swap is refused, comparing the next pair.
Reading of the rule: the paper describes it in prose; the exact conditions follow the authors' code
release (github ibrahimoguzc/DiscoverHeuristics, testing/heuristics_comparison.ipynb).
"""

import numpy as np


def schedule(p, d):
    p = np.asarray(p, dtype=np.int64)
    d = np.asarray(d, dtype=np.int64)
    seq = [int(j) for j in np.lexsort((d, p))]  # SPT, ties by EDD, then index
    prefix = 0  # total processing time of seq[:i]; insertion sorts keep that set of jobs
    for i in range(len(seq)):
        start = prefix  # start time of position j (sum of p over seq[:j]), j = i first
        prefix += int(p[seq[i]])
        j = i
        while j > 0 and d[seq[j]] < d[seq[j - 1]]:
            left = seq[j - 1]
            if d[left] > start:
                seq[j - 1], seq[j] = seq[j], left
            start -= int(p[left])
            j -= 1
    return np.array(seq, dtype=np.int64)
