"""``adrs plot``: a run's best-so-far curve as a PNG or SVG file with matplotlib (for papers), from
the same data as the web UI's run page (``adrs.curves``). Imports matplotlib only when called."""

from __future__ import annotations

from pathlib import Path

from adrs.curves import Progress


def draw_curve(progress: Progress, output: Path, *, x_axis: str = "candidates", fmt: str | None = None,
               title: str | None = None) -> Path:
    """Write the best-so-far curve (per island, overall, candidates, baselines) to ``output``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_time = x_axis == "time"
    best = progress.best_time if by_time else progress.best
    islands = progress.islands_time if by_time else progress.islands
    fig, ax = plt.subplots(figsize=(7.0, 4.2), dpi=150)
    try:
        xs = progress.points["t" if by_time else "seq"]
        if xs:
            ax.scatter(xs, progress.points["score"], s=6, color="#94a3b8", alpha=0.5, linewidths=0,
                       label="candidates", zorder=1)
        if len(islands) > 1:
            for curve in islands:
                ax.step(curve.x, curve.y, where="post", linewidth=0.9, alpha=0.8, label=curve.name, zorder=2)
        ax.step(best.x, best.y, where="post", color="#111827", linewidth=2.0, label="best so far", zorder=3)
        for k, (name, score) in enumerate(progress.baselines.items()):
            ax.axhline(score, color="#6b7280", linestyle=(0, (5, 3)), linewidth=1.0,
                       label="baselines (train)" if k == 0 else None)
            ax.annotate(f"{name} {score:.4g}", (1.0, score), xycoords=("axes fraction", "data"),
                        xytext=(-4, 3), textcoords="offset points", ha="right", fontsize=8, color="#374151")
        # As on the web page: the range of the overall best and the baselines (far-off candidates and
        # island curves are cut at the edge), on a log scale when it spans decades.
        scores = [*best.y, *progress.baselines.values()]
        if scores:
            lo, hi = min(scores), max(scores)
            if lo > 0 and hi / lo > 20:
                from matplotlib.ticker import FuncFormatter

                ax.set_yscale("log")
                ax.set_ylim(lo / 1.15, hi * 1.15)
                plain = FuncFormatter(lambda v, _: f"{v:g}")
                ax.yaxis.set_major_formatter(plain)
                ax.yaxis.set_minor_formatter(plain)
            else:
                pad = (hi - lo) * 0.06 or abs(hi) * 0.1 or 1.0
                ax.set_ylim(lo - pad, hi + pad)
        ax.set_xlabel("time since start (s)" if by_time else "candidate")
        ax.set_ylabel(f"{progress.objective} ({'lower' if progress.direction == 'minimize' else 'higher'} "
                      "is better)")
        ax.set_title(title or f"{progress.run_id}", fontsize=10)
        ax.grid(True, color="#eef2f7")
        ax.legend(fontsize=7, loc="best", frameon=False, ncol=2)
        fig.tight_layout()
        fig.savefig(output, format=fmt)
    finally:
        plt.close(fig)
    return output
