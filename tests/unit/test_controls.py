"""A run next to its controls: grouping by strategy and budget, mean and spread, the verdict."""

import pytest

from adrs.controls import RunOutcome, controls_of, stats, verdict


def run(strategy, seed, validation, budget=100, problem="smtt", proposer="mutator", train=9.0):
    return RunOutcome(f"{strategy}-{seed}-{budget}", problem, proposer, strategy, budget, seed,
                      "minimize", train, validation)


def test_groups_of_the_same_problem_and_proposer_with_the_target_first():
    runs = [run("best-of-n", 0, 3.0), run("evolve", 0, 1.0), run("evolve", 1, 2.0),
            run("evolve", 0, 0.5, problem="txn"), run("evolve", 0, 0.5, proposer="gpt"),
            run("evolve", 0, 5.0, budget=50)]
    groups = controls_of(runs[1], runs)
    assert [(g.strategy, g.budget, len(g.runs)) for g in groups] == [
        ("evolve", 100, 2), ("best-of-n", 100, 1), ("evolve", 50, 1)]
    ev = groups[0]
    assert (ev.split, ev.best, ev.mean) == ("validation", 1.0, 1.5)
    assert ev.sd == pytest.approx(0.7071, abs=1e-4)


def test_train_scores_are_used_when_a_run_has_no_validation_score():
    group = stats("evolve", 100, [run("evolve", 0, 1.0), run("evolve", 1, None, train=4.0)])
    assert group.split == "train" and group.mean == pytest.approx((9.0 + 4.0) / 2)


def test_verdict_needs_a_margin_larger_than_both_spreads():
    clear = [run("evolve", s, v) for s, v in enumerate((1.0, 1.1, 0.9))] + \
            [run("best-of-n", s, v) for s, v in enumerate((3.0, 3.2, 2.8))]
    text = verdict(controls_of(clear[0], clear))
    assert "evolve beats best-of-n" in text
    noisy = [run("evolve", s, v) for s, v in enumerate((1.0, 3.0, 2.0))] + \
            [run("best-of-n", s, v) for s, v in enumerate((1.5, 4.0, 2.5))]
    assert "not a clear win" in verdict(controls_of(noisy[0], noisy))
    worse = [run("evolve", 0, 3.0), run("random-restart", 0, 1.0)]
    assert "does NOT beat random-restart" in verdict(controls_of(worse[0], worse))
    assert "no control runs" in verdict(controls_of(clear[0], clear[:3]))
