"""Joining an existing Ray cluster and checking its nodes before a campaign uses them.

``ray_address`` picks the cluster (``--ray-address``, else ``RAY_ADDRESS``, else the ``ray.address``
config key; none: a local Ray session). ``check_nodes`` runs a probe pinned to every alive node
that can run evaluations: adrs must import there at the driver's version, the sandbox harness must
start, and the problem's evaluator must load from the problem folder's path. A node that fails
is named in the error. Evaluations themselves are ordinary Ray tasks (``adrs.worker``): Ray spreads
them over the nodes and retries those whose node dies; each result names its node.
This module does not start clusters (``ray start``, KubeRay: see docs/scale-out.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from adrs.errors import CampaignError

PROBE_TIMEOUT_S = 180.0  # a cold node starts a worker process and probes the sandbox


def ray_address(flag: str | None, configured: str | None) -> str | None:
    """The cluster to join: the command-line flag, else RAY_ADDRESS, else the config key."""
    for value in (flag, os.environ.get("RAY_ADDRESS"), configured):
        if value and value.strip():
            return value.strip()
    return None


@dataclass(frozen=True)
class NodeReport:
    """What the probe found on one node (``error`` empty when the node can evaluate)."""

    node: str  # "<ip>/<node id prefix>", as recorded with each evaluation
    hostname: str = ""
    version: str = ""
    isolation: str = ""
    error: str = ""


def probe_node(problem_root: str) -> dict[str, str]:
    """Runs on a node: can it evaluate candidates of the problem at ``problem_root``?"""
    import socket

    import adrs
    from adrs.sandbox import HARNESS, isolation_level
    from adrs.worker import evaluator_for, node_label

    found = {"node": node_label(), "hostname": socket.gethostname(), "version": adrs.__version__}
    if not HARNESS.is_file():
        found["error"] = f"the sandbox harness {HARNESS} is missing"
        return found
    try:
        found["isolation"] = isolation_level()
        evaluator_for(problem_root)
    except Exception as err:  # report it for the driver to name the node
        found["error"] = (f"the problem's evaluator does not load from {problem_root}: "
                          f"{type(err).__name__}: {err}")
    return found


def check_nodes(problem_root: str, timeout_s: float = PROBE_TIMEOUT_S) -> list[NodeReport]:
    """Probe every alive node that has CPUs; raise CampaignError naming each node that fails."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    import adrs

    nodes = [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0]
    if not nodes:
        raise CampaignError("the Ray cluster has no alive node with CPUs to run evaluations on")
    probe = ray.remote(num_cpus=0, max_retries=0)(probe_node)
    refs = {}
    for n in nodes:
        strategy = NodeAffinitySchedulingStrategy(node_id=n["NodeID"], soft=False)
        refs[probe.options(scheduling_strategy=strategy).remote(problem_root)] = n
    ready, _ = ray.wait(list(refs), num_returns=len(refs), timeout=timeout_s)
    reports = []
    for ref, n in refs.items():
        name = f"{n['NodeManagerAddress']}/{n['NodeID'][:12]}"
        if ref not in ready:
            reports.append(NodeReport(name, error=f"did not answer within {timeout_s:.0f} s"))
            continue
        try:
            found = ray.get(ref)
        except Exception as err:  # adrs (or a module it needs) is not importable there
            reports.append(NodeReport(name, error=f"cannot run adrs: {_first_line(err)}"))
            continue
        if found["version"] != adrs.__version__ and not found.get("error"):
            found["error"] = (f"runs adrs {found['version']}, the driver adrs {adrs.__version__}; "
                              f"install the same version on every node")
        reports.append(NodeReport(found["node"] or name, found["hostname"], found["version"],
                                  found.get("isolation", ""), found.get("error", "")))
    failed = [r for r in reports if r.error]
    if failed:
        lines = "\n".join(f"  node {r.node}{f' ({r.hostname})' if r.hostname else ''}: {r.error}"
                          for r in failed)
        raise CampaignError(
            f"{len(failed)} of {len(reports)} Ray node(s) cannot evaluate this problem:\n{lines}\n"
            f"Every node needs adrs (same version) and the problem folder at the same path: install "
            f"them in the nodes' image or environment (see docs/scale-out.md).")
    return reports


def cluster_cpus() -> int:
    import ray

    return int(ray.cluster_resources().get("CPU", 0))


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    interesting = [line for line in text if "Error" in line and not line.startswith(" ")]
    return (interesting[-1] if interesting else text[-1] if text else type(err).__name__)[:500]


def describe(report: NodeReport) -> str:
    host = f" ({report.hostname})" if report.hostname else ""
    return f"node {report.node}{host}: adrs {report.version}, sandbox {report.isolation}"
