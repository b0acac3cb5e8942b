"""The expert-parallel deployment a placement is made for: experts, slots, groups, nodes, GPUs.

``Cluster`` holds the sizes and checks that they fit together (slots split evenly over GPUs, GPUs over
nodes, experts over groups, at least one slot per expert). Slot ``s`` lives on GPU
``s // slots_per_gpu``. This module reads the ``cluster:`` mapping of problem.yaml; it does not
generate loads or score placements.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adrs.config import ConfigError, check_keys

# The published setup (DeepSeek-V3 / the ADRS paper's MoE case study).
PUBLISHED = {"experts": 256, "replicas": 288, "groups": 8, "nodes": 4, "gpus": 32}


@dataclass(frozen=True)
class Cluster:
    experts: int  # logical experts per MoE layer
    replicas: int  # physical expert slots per layer (over all GPUs)
    groups: int  # expert groups (group-limited routing); experts e*g..(e+1)*g-1 form a group
    nodes: int
    gpus: int

    def __post_init__(self) -> None:
        problems = []
        for name in ("experts", "replicas", "groups", "nodes", "gpus"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                problems.append(f"{name} must be a positive integer, got {value!r}")
        if problems:
            raise ConfigError("cluster: " + "; ".join(problems))
        if self.replicas < self.experts:
            problems.append(f"replicas ({self.replicas}) must be at least experts ({self.experts})")
        if self.replicas % self.gpus:
            problems.append(f"replicas ({self.replicas}) must split evenly over gpus ({self.gpus})")
        if self.gpus % self.nodes:
            problems.append(f"gpus ({self.gpus}) must split evenly over nodes ({self.nodes})")
        if self.experts % self.groups:
            problems.append(f"experts ({self.experts}) must split evenly into groups ({self.groups})")
        if problems:
            raise ConfigError("cluster: " + "; ".join(problems))

    @property
    def slots_per_gpu(self) -> int:
        return self.replicas // self.gpus

    def label(self) -> str:
        return (f"{self.experts} experts, {self.replicas} slots, {self.groups} groups, "
                f"{self.nodes} nodes, {self.gpus} GPUs ({self.slots_per_gpu} slots per GPU)")

    def to_dict(self) -> dict[str, int]:
        return {"experts": self.experts, "replicas": self.replicas, "groups": self.groups,
                "nodes": self.nodes, "gpus": self.gpus}


def parse_cluster(raw: Any, where: str = "instances.cluster") -> Cluster:
    """Read ``{experts, replicas, groups, nodes, gpus}``; missing fields take the published values."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping {{experts, replicas, groups, nodes, gpus}}")
    check_keys(dict(raw), where, set(PUBLISHED))
    try:
        return Cluster(**{**PUBLISHED, **raw})
    except ConfigError as err:
        raise ConfigError(f"{where}: {str(err).removeprefix('cluster: ')}") from None
