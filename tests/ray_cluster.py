"""A multi-node Ray cluster on this machine, for tests and benchmarks (Ray's own
``ray.cluster_utils.Cluster``, run in a child process so the test process keeps its own Ray session).

Each node is a separate raylet with its own CPUs (1 by default), object store and worker
processes; nodes can be added (with extra environment variables, e.g. to make one node lack a
module) and killed mid-campaign. Everything lives in a private Ray temp folder, so ``ray.init()``
elsewhere on the machine never finds this cluster. Campaigns join it with ``--ray-address``.
Usage: ``with LocalCluster(nodes=3) as cluster: ... cluster.address ... cluster.kill(node_id)``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


class LocalCluster:
    def __init__(self, nodes: int = 2, cpus: int = 1, env: dict[str, str] | None = None) -> None:
        self.tmp = tempfile.mkdtemp(prefix="ar")  # short: Ray's socket paths must stay < 108 chars
        child_env = {**os.environ, "RAY_TMPDIR": self.tmp, "PYTHONPATH": str(REPO),
                     **(env or {})}
        child_env.pop("RAY_ADDRESS", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.ray_cluster", str(cpus)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     cwd=REPO, env=child_env)
        head = self._ask()
        self.address: str = head["address"]
        self.nodes: list[str] = [head["node_id"]]
        for _ in range(nodes - 1):
            self.add_node()

    def _ask(self, **command: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if command:
            self.proc.stdin.write(json.dumps(command) + "\n")
            self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the Ray cluster process exited ({self.proc.wait()})")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply

    def add_node(self, env: dict[str, str] | None = None, cpus: int | None = None) -> str:
        """Start one more node; ``env`` is added to its raylet's (and its workers') environment."""
        node_id = self._ask(op="add", env=env or {}, cpus=cpus)["node_id"]
        self.nodes.append(node_id)
        return node_id

    def kill(self, node_id: str) -> None:
        """Kill a worker node's processes at once (SIGKILL), like a machine that drops off."""
        self._ask(op="kill", node_id=node_id)
        self.nodes.remove(node_id)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self._ask(op="quit")
            except (RuntimeError, BrokenPipeError, ValueError):
                pass
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        import shutil

        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# Fast failure detection so that a killed node is noticed in seconds, not the default ~30 s.
SYSTEM_CONFIG = {"health_check_period_ms": 1000, "health_check_failure_threshold": 3,
                 "health_check_initial_delay_ms": 1000}


def _serve(cpus: int) -> None:
    """The child process: start the head node, then obey one JSON command per stdin line."""
    import logging

    from ray.cluster_utils import Cluster

    logging.disable(logging.WARNING)
    common = {"include_dashboard": False, "num_cpus": cpus, "object_store_memory": 80 * 1024 * 1024}
    cluster = Cluster(initialize_head=True, head_node_args={**common, "_system_config": SYSTEM_CONFIG})
    nodes = {cluster.head_node.node_id: cluster.head_node}

    def reply(**data: Any) -> None:
        print(json.dumps(data), flush=True)

    reply(address=cluster.address, node_id=cluster.head_node.node_id)
    for line in sys.stdin:
        command = json.loads(line)
        try:
            if command["op"] == "add":
                args = dict(common, num_cpus=command.get("cpus") or cpus)
                if command.get("env"):
                    args["env_vars"] = command["env"]
                node = cluster.add_node(**args)
                cluster.wait_for_nodes()
                nodes[node.node_id] = node
                reply(node_id=node.node_id)
            elif command["op"] == "kill":
                cluster.remove_node(nodes.pop(command["node_id"]), allow_graceful=False)
                reply(ok=True)
            elif command["op"] == "quit":
                break
        except Exception as err:  # tell the test, keep serving
            reply(error=f"{type(err).__name__}: {err}")
    cluster.shutdown()
    reply(ok=True)


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
