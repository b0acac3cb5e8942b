"""The SMTT baselines (problems/smtt/baselines): standalone, valid, hand-checked, and MDD reproduces
the published mean gaps of Cetinkaya et al. on the published instances (../shared/data/smtt)."""

from __future__ import annotations

import ast
import heapq
import importlib.util
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
BASELINES = ROOT / "problems" / "smtt" / "baselines"
SHARED_SMTT = ROOT.parent / "shared" / "data" / "smtt"
UNWEIGHTED = ("edd", "spt", "mdd", "amdd", "psk", "wi", "eddc", "mddc", "amddc", "ils")
WEIGHTED = ("wspt", "atc")
ALLOWED_IMPORTS = {"numpy", "bisect", "heapq"}


def load(name: str, folder: Path = BASELINES):
    spec = importlib.util.spec_from_file_location(f"baseline_{name}", folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tardiness(p, d, seq) -> int:
    seq = np.asarray(seq)
    return int(np.maximum(np.cumsum(p[seq]) - d[seq], 0).sum())


def published(n: int, count: int) -> list[dict]:
    path = SHARED_SMTT / f"data_{n}_{count}.json"
    if not path.is_file():
        pytest.skip(f"published data not found at {path}")
    return json.loads(path.read_text())


def imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add((node.module or "").split(".")[0] if node.level == 0 else "<relative>")
    return names


@pytest.mark.parametrize("path", [BASELINES / f"{n}.py" for n in UNWEIGHTED]
                         + [BASELINES / "weighted" / f"{n}.py" for n in WEIGHTED], ids=lambda p: p.stem)
def test_baseline_is_standalone(path):
    assert imports_of(path) <= ALLOWED_IMPORTS, imports_of(path)
    assert callable(load(path.stem, path.parent).schedule)


def random_instances(seed: int = 0):
    rng = np.random.default_rng(seed)
    cases = [(np.array([5]), np.array([3])), (np.array([2, 2]), np.array([1, 1])),
             (np.array([3, 3, 3]), np.array([0, 0, 0])), (np.array([4, 1, 7]), np.array([-5, 20, 3]))]
    for n in (5, 17, 40, 61):
        p = rng.integers(1, 101, n)
        total = int(p.sum())
        cases.append((p, rng.integers(0, total, n)))
        cases.append((p, np.full(n, total // 3)))  # many ties
    return cases


@pytest.mark.parametrize("name", UNWEIGHTED)
def test_unweighted_baseline_returns_a_permutation(name):
    module = load(name)
    for p, d in random_instances():
        order = np.asarray(module.schedule(p.copy(), d.copy()))
        assert order.ndim == 1 and order.dtype.kind in "iu"
        assert sorted(order.tolist()) == list(range(len(p))), (name, p, d)


@pytest.mark.parametrize("name", WEIGHTED)
def test_weighted_baseline_returns_a_permutation(name):
    module = load(name, BASELINES / "weighted")
    rng = np.random.default_rng(1)
    for p, d in random_instances():
        w = rng.integers(1, 11, len(p))
        order = np.asarray(module.schedule(p, d, w))
        assert sorted(order.tolist()) == list(range(len(p)))


def test_mdd_by_hand():
    # t=0: max(p, d-t) = [4, 2, 4] -> job 1; t=2: [3, -, 4] -> job 0; then job 2.
    assert load("mdd").schedule(np.array([3, 2, 4]), np.array([4, 2, 3])).tolist() == [1, 0, 2]


def test_psk_by_hand():
    # SPT order 0 (p2,d10), 1 (p3,d4), 2 (p4,d5). C=0: 1 replaces 0 (10 > max(3, 4)); 1 stays
    # against 2 (4 <= max(4, 5)) -> 1. C=3: 2 replaces 0 (10 > max(7, 5)) -> 2, then 0.
    assert load("psk").schedule(np.array([2, 3, 4]), np.array([10, 4, 5])).tolist() == [1, 2, 0]


def test_wi_by_hand():
    # EDD 0, 1, 2. Job 1 (p1) does not fit after 0 (p4 > p1, 0 + 4 > d1 = 3) -> [1, 0]; job 2 does
    # not fit after 0 at start 1 (1 + 4 > 4) -> [1, 2, 0]; 1 before 2 fits (p1 <= p2).
    p, d = np.array([4, 1, 2]), np.array([2, 3, 4])
    order = load("wi").schedule(p, d)
    assert order.tolist() == [1, 2, 0]
    assert tardiness(p, d, order) == min(tardiness(p, d, s) for s in itertools.permutations(range(3)))


def literal_wilkerson_irwin(p, d):
    """The textbook statement (scheduled list, pivot, unscheduled EDD list with backtracking)."""
    pl, dl = list(map(int, p)), list(map(int, d))

    def fit(x, y, start):
        if (dl[x], x) > (dl[y], y):
            return not fit(y, x, start)
        return pl[x] <= pl[y] or start + max(pl[x], pl[y]) <= dl[y]

    waiting = [(dl[j], j) for j in range(len(pl))]
    heapq.heapify(waiting)
    a, b = heapq.heappop(waiting)[1], heapq.heappop(waiting)[1]
    if not fit(a, b, 0) and pl[b] < pl[a]:
        a, b = b, a
    alpha, beta, finish = [a], b, pl[a]
    while waiting:
        gamma = heapq.heappop(waiting)[1]
        if fit(beta, gamma, finish):
            alpha, finish, beta = alpha + [beta], finish + pl[beta], gamma
            continue
        heapq.heappush(waiting, (dl[beta], beta))
        beta = gamma
        while alpha and not fit(alpha[-1], beta, finish - pl[alpha[-1]]):
            finish -= pl[alpha[-1]]
            last = alpha.pop()
            heapq.heappush(waiting, (dl[last], last))
    return alpha + [beta]


def test_wi_insertion_form_equals_the_textbook_statement():
    module, rng = load("wi"), np.random.default_rng(7)
    for _ in range(400):
        n = int(rng.integers(2, 16))
        p = rng.integers(1, 30, n)
        d = rng.integers(0, int(p.sum()), n)
        assert module.schedule(p, d).tolist() == literal_wilkerson_irwin(p, d), (p, d)


def test_eddc_by_hand():
    # SPT order [1, 2, 0]; job 2 passes job 1 (d1 = 6 > start 1); job 0 passes 1 (6 > 3) and 2 (3 > 2).
    assert load("eddc").schedule(np.array([3, 1, 2]), np.array([2, 6, 3])).tolist() == [0, 2, 1]
    # refused swap: job 1 (d1 = 1) would pass job 2 (d2 = 2), but 2 is not early (d2 = 2 <= start 2)
    assert load("eddc").schedule(np.array([1, 5, 1]), np.array([0, 1, 2])).tolist() == [0, 2, 1]


def test_mddc_priority_by_hand():
    module = load("mddc")
    p, d = np.array([10, 1]), np.array([0, 0])
    keys = module.mddc_keys(p, d, np.array([0, 1]), 0)
    # job 0: max(11, 0) * 1.5 + 10 / 5.5; job 1: 1.1 * (1 + 0.01 / 1.01) + 1 / 5.5
    assert keys == pytest.approx([16.5 + 10 / 5.5, 1.1 * (1 + 0.01 / 1.01) + 1 / 5.5])
    assert module.schedule(p, d).tolist() == [1, 0]


@pytest.mark.parametrize("name", ["amdd", "amddc"])
def test_move_to_end_step_finds_the_best_single_move(name):
    module, rng = load(name), np.random.default_rng(3)
    for _ in range(100):
        n = int(rng.integers(2, 12))
        p, d, seq = rng.integers(1, 20, n), rng.integers(0, 60, n), rng.permutation(n)
        trials = [np.concatenate((seq[:i], seq[i + 1:], seq[i:i + 1])) for i in range(n - 1)]
        values = [tardiness(p, d, t) for t in trials]
        expected = trials[int(np.argmin(values))] if min(values) < tardiness(p, d, seq) else seq
        assert module.best_move_to_end(p, d, seq).tolist() == expected.tolist()


def test_ils_is_never_worse_than_edd_or_mdd():
    ils, mdd, rng = load("ils"), load("mdd"), np.random.default_rng(5)
    for _ in range(5):
        p = rng.integers(1, 101, 30)
        d = rng.integers(0, int(p.sum()), 30)
        value = tardiness(p, d, ils.schedule(p, d))
        assert value <= min(tardiness(p, d, np.argsort(d, kind="stable")),
                            tardiness(p, d, mdd.schedule(p, d)))


def test_ils_insertion_deltas_match_recomputation():
    ils, rng = load("ils"), np.random.default_rng(11)
    for _ in range(20):
        n = int(rng.integers(2, 10))
        p, d, seq = rng.integers(1, 20, n), rng.integers(0, 60, n), rng.permutation(n)
        deltas = ils.insertion_deltas(p, d, seq)
        for i, j in itertools.product(range(n), repeat=2):
            assert deltas[i, j] == tardiness(p, d, ils.move(seq, i, j)) - tardiness(p, d, seq)


def test_wspt_by_hand():
    wspt = load("wspt", BASELINES / "weighted")
    # p/w = 3, 1, 0.5 -> [2, 1, 0]; equal ratios keep the index order.
    assert wspt.schedule(np.array([3, 1, 2]), np.array([0, 0, 0]), np.array([1, 1, 4])).tolist() == [2, 1, 0]
    assert wspt.schedule(np.array([2, 4]), np.array([9, 0]), np.array([1, 2])).tolist() == [0, 1]


def test_atc_by_hand_and_look_ahead_parameter():
    atc = load("atc", BASELINES / "weighted")
    p, d, w = np.array([2, 4]), np.array([3, 1]), np.array([1, 1])
    # pbar = 3. k = 2: job 0 index 0.5 * exp(-1/6) = 0.42 > job 1: 1/4 (no slack) -> [0, 1].
    assert atc.schedule(p, d, w).tolist() == [0, 1]
    # k = 0.1: job 0 index 0.5 * exp(-1/0.3) = 0.018 < 0.25 -> [1, 0].
    assert atc.schedule(p, d, w, k=0.1).tolist() == [1, 0]
    with pytest.raises(ValueError, match="look-ahead"):
        atc.schedule(p, d, w, k=0)


def mdd_mean_gap(n: int, count: int) -> float:
    mdd, gaps = load("mdd"), []
    for item in published(n, count):
        p, d, opt = np.array(item["p"]), np.array(item["d"]), item["opt"]
        if opt > 0:
            gaps.append(100.0 * (tardiness(p, d, mdd.schedule(p, d)) - opt) / opt)
    return float(np.mean(gaps))


def test_mdd_reproduces_the_published_mean_gaps():
    # Cetinkaya et al. report 1.86 % (n=20), 1.81 % (n=100), 2.07 % (n=200): mean over instances with
    # a positive optimum. n=100 and n=200 match to the reported two decimals. n=20 gives 1.881 %:
    # the authors' notebook evaluates a regenerated n=20 file (data_20_800_new_.npy) that is not
    # among the published sets, which explains the 0.02 point difference (see problems/smtt/README).
    assert round(mdd_mean_gap(100, 200), 2) == 1.81
    assert round(mdd_mean_gap(200, 200), 2) == 2.07
    assert mdd_mean_gap(20, 800) == pytest.approx(1.86, abs=0.025)


def test_published_class_layout_matches_the_due_dates():
    """The (TF, RDD) class derived from the file layout agrees with the one estimated from P and d
    on every instance whose due dates were not clamped at 0."""
    from evaluators.smtt.bench import published_classes

    tfs, rdds = (0.2, 0.4, 0.6, 0.8), (0.2, 0.4, 0.6, 0.8, 1.0)
    for n, count in ((100, 200), (200, 200)):
        items = published(n, count)
        classes, checked = published_classes(len(items)), 0
        for item, (tf, rdd) in zip(items, classes, strict=True):
            p, d = np.array(item["p"]), np.array(item["d"])
            if d.min() <= 0:
                continue
            total = p.sum()
            est_tf = 1 - (d.min() + d.max()) / (2 * total)
            est_rdd = (d.max() - d.min()) / total
            assert min(tfs, key=lambda v: abs(v - est_tf)) == tf
            assert min(rdds, key=lambda v: abs(v - est_rdd)) == rdd
            checked += 1
        assert checked >= 150
