"""Expert-load traces: a seeded generator of realistic MoE routing loads, and the published JSON layout.

A trace is a sequence of steps; each step holds the tokens routed to every logical expert of every
MoE layer (``[layers, experts]``). Steps are summed into windows of ``window_steps``; a placement
computed on window i is scored on window i+1 (the balancer predicts the next window's load).

The generator (``generate_steps``) models what real traces show:

- per-layer skew: an expert's share is Zipf-like in its popularity rank, ``(rank + 1) ** -zipf``;
- layer-to-layer correlation: the latent popularity of layer l is an AR(1) of layer l-1's
  (``layer_corr``), and experts of one group share a group term (group-limited routing);
- datasets: every "domain" (chat, math, code) has its own preference field; a mix weights them,
  and the ``mixed`` profile switches between random domain mixes over time;
- drift: the hot experts move (an Ornstein-Uhlenbeck walk of the latent popularity);
- bursts: now and then one expert of one layer gets several times its share for a few steps;
- sampling noise: each step draws Poisson counts for ``tokens_per_step`` tokens routed top-``top_k``.

``read_trace_file`` accepts the published layout, ``{"load_history": [{"logical_expert_load":
[[...], ...]}, ...]}``, so that real traces can be used; ``write_trace_file`` writes it. This module
does not validate placements or score anything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

GENERATOR_VERSION = 1
DOMAINS = ("chat", "math", "code")
TOP_K = 8


@dataclass(frozen=True)
class Profile:
    """How the load of one kind of traffic behaves (see the module docstring)."""

    domains: tuple[float, ...]  # weight of each of DOMAINS (ignored when switching)
    zipf: float  # skew exponent of the popularity ranks
    drift: float  # per-step standard deviation of the latent popularity walk
    reversion: float  # per-step pull of the walk back to 0
    burst_rate: float  # probability per step and layer that a burst starts
    burst_gain: float  # load multiplier of a bursting expert
    burst_steps: int  # steps a burst lasts
    layer_corr: float  # correlation of the latent popularity between adjacent layers
    switch_rate: float = 0.0  # probability per step that the domain mix switches (0: fixed mix)


PROFILES: dict[str, Profile] = {
    "chat": Profile(domains=(1.0, 0.0, 0.0), zipf=0.5, drift=0.03, reversion=0.01,
                    burst_rate=0.01, burst_gain=3.0, burst_steps=10, layer_corr=0.6),
    "math": Profile(domains=(0.2, 0.8, 0.0), zipf=0.65, drift=0.04, reversion=0.01,
                    burst_rate=0.02, burst_gain=4.0, burst_steps=8, layer_corr=0.7),
    "code": Profile(domains=(0.2, 0.0, 0.8), zipf=0.6, drift=0.035, reversion=0.01,
                    burst_rate=0.015, burst_gain=3.0, burst_steps=12, layer_corr=0.65),
    "mixed": Profile(domains=(1 / 3, 1 / 3, 1 / 3), zipf=0.6, drift=0.04, reversion=0.01,
                     burst_rate=0.02, burst_gain=4.0, burst_steps=10, layer_corr=0.65,
                     switch_rate=0.03),
}
GROUP_STRENGTH = 0.7  # weight of the shared group term in the latent popularity
DOMAIN_STRENGTH = 1.2  # weight of a domain's preference field


class TraceError(ValueError):
    """A trace file that does not follow the published layout (the message says where)."""


@dataclass(frozen=True)
class Trace:
    """Window loads of one trace, ``windows[i]`` = sum of steps ``i*w .. (i+1)*w - 1``."""

    name: str
    windows: np.ndarray  # [windows, layers, experts], int64 (float64 for a file with fractions)

    @property
    def layers(self) -> int:
        return int(self.windows.shape[1])

    @property
    def experts(self) -> int:
        return int(self.windows.shape[2])


def layer_correlated(rng: np.random.Generator, layers: int, width: int, corr: float) -> np.ndarray:
    """Standard normal field [layers, width] whose adjacent layers have correlation ``corr``."""
    noise = rng.standard_normal((layers, width))
    out = np.empty_like(noise)
    out[0] = noise[0]
    keep = float(np.sqrt(1.0 - corr * corr))
    for layer in range(1, layers):
        out[layer] = corr * out[layer - 1] + keep * noise[layer]
    return out


def zipf_shares(latent: np.ndarray, exponent: float) -> np.ndarray:
    """Row-wise shares (summing to 1) proportional to (rank + 1) ** -exponent; rank 0 = largest."""
    order = np.argsort(-latent, axis=-1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(latent.shape[-1]), axis=-1)
    weights = (ranks + 1.0) ** -exponent
    return weights / weights.sum(axis=-1, keepdims=True)


def generate_steps(seed: int | list[int], profile: Profile, layers: int, experts: int, groups: int,
                   steps: int, tokens_per_step: int) -> np.ndarray:
    """Per-step routed-token counts ``[steps, layers, experts]`` (int64) for one trace."""
    rng = np.random.default_rng(seed)
    group_of = np.arange(experts) // (experts // groups)
    base = layer_correlated(rng, layers, experts, profile.layer_corr)
    base += GROUP_STRENGTH * layer_correlated(rng, layers, groups, profile.layer_corr)[:, group_of]
    fields = np.stack([layer_correlated(rng, layers, experts, profile.layer_corr) for _ in DOMAINS])
    mix = np.asarray(profile.domains, dtype=float)
    walk = np.zeros((layers, experts))
    burst_left = np.zeros((layers, experts), dtype=np.int64)
    per_layer = float(tokens_per_step * min(TOP_K, experts))
    counts = np.empty((steps, layers, experts), dtype=np.int64)
    for t in range(steps):
        if profile.switch_rate and rng.random() < profile.switch_rate:
            mix = rng.dirichlet(np.full(len(DOMAINS), 0.5))
        walk = (1.0 - profile.reversion) * walk + profile.drift * rng.standard_normal((layers, experts))
        latent = base + DOMAIN_STRENGTH * np.tensordot(mix, fields, axes=1) + walk
        starts = rng.random(layers) < profile.burst_rate
        if starts.any():
            rows = np.flatnonzero(starts)
            burst_left[rows, rng.integers(0, experts, size=rows.size)] = profile.burst_steps
        shares = zipf_shares(latent, profile.zipf) * np.where(burst_left > 0, profile.burst_gain, 1.0)
        shares /= shares.sum(axis=-1, keepdims=True)
        counts[t] = rng.poisson(per_layer * shares)
        burst_left = np.maximum(burst_left - 1, 0)
    return counts


def window_sums(steps: np.ndarray, window_steps: int) -> np.ndarray:
    """Sum consecutive steps into windows ``[windows, layers, experts]``; a partial tail is dropped."""
    whole = steps.shape[0] // window_steps
    if whole == 0:
        raise TraceError(f"the trace has {steps.shape[0]} steps, fewer than one window "
                         f"({window_steps} steps)")
    return steps[: whole * window_steps].reshape(whole, window_steps, *steps.shape[1:]).sum(axis=1)


def generate_trace(seed: int, mix: str, layers: int, experts: int, groups: int, windows: int,
                   window_steps: int, tokens_per_step: int) -> Trace:
    """One generated trace; its random stream is keyed by (seed, mix), so splits with different
    seeds never share a trace."""
    if mix not in PROFILES:
        raise KeyError(f"unknown mix {mix!r}; known: {', '.join(PROFILES)}")
    stream = [seed, GENERATOR_VERSION, list(PROFILES).index(mix)]
    steps = generate_steps(stream, PROFILES[mix], layers, experts, groups, windows * window_steps,
                           tokens_per_step)
    return Trace(name=f"{mix} (seed {seed})", windows=window_sums(steps, window_steps))


# --- the published JSON layout ------------------------------------------------------------------


def read_trace_file(path: Path) -> np.ndarray:
    """Steps ``[steps, layers, experts]`` from a file ``{"load_history": [{"logical_expert_load":
    [[...], ...]}, ...]}``. int64 when every load is integral, else float64."""
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise TraceError(f"{path}: cannot read a JSON trace: {err}") from None
    return parse_load_history(raw, str(path))


def parse_load_history(raw: Any, where: str = "trace") -> np.ndarray:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("load_history"), list):
        raise TraceError(f"{where}: expected an object with a list 'load_history'")
    history = raw["load_history"]
    if not history:
        raise TraceError(f"{where}: 'load_history' is empty")
    loads = []
    for i, step in enumerate(history):
        if not isinstance(step, Mapping) or "logical_expert_load" not in step:
            raise TraceError(f"{where}: load_history[{i}] has no 'logical_expert_load'")
        try:
            load = np.asarray(step["logical_expert_load"], dtype=np.float64)
        except (TypeError, ValueError):
            raise TraceError(f"{where}: load_history[{i}].logical_expert_load is not a "
                             f"[layers, experts] table of numbers") from None
        if load.ndim != 2 or load.size == 0:
            raise TraceError(f"{where}: load_history[{i}].logical_expert_load has shape "
                             f"{load.shape}; expected [layers, experts]")
        if loads and load.shape != loads[0].shape:
            raise TraceError(f"{where}: load_history[{i}] has shape {load.shape}, step 0 has "
                             f"{loads[0].shape}")
        if not np.all(np.isfinite(load)) or np.any(load < 0):
            raise TraceError(f"{where}: load_history[{i}] has negative or non-finite loads")
        loads.append(load)
    steps = np.stack(loads)
    return steps.astype(np.int64) if np.all(steps == np.round(steps)) else steps


def write_trace_file(path: Path, steps: np.ndarray) -> None:
    """Write steps ``[steps, layers, experts]`` in the published layout."""
    history = [{"logical_expert_load": step.tolist()} for step in np.asarray(steps)]
    Path(path).write_text(json.dumps({"load_history": history}))


def file_trace(path: Path, window_steps: int) -> Trace:
    return Trace(name=Path(path).name, windows=window_sums(read_trace_file(path), window_steps))
