"""A Patroni cluster for tests, brought up by ``deploy/ha/stack.py``, and faults to inject.

:class:`HaCluster` wraps one stack (etcd, two or three PostgreSQL 15 nodes under
Patroni, HAProxy, pgbouncer) in a temporary directory on ports of its own. Faults are
real: a node is frozen with SIGSTOP (a stuck disk or a partition looks like that to
its clients), killed with SIGKILL, its WAL receiver paused, or its server made
read-only (``default_transaction_read_only``, as a fenced or demoted node looks).
Only processes the stack started are signalled, by their ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

__all__ = ["HaCluster", "Node", "missing_tools"]

_STACK = Path(__file__).resolve().parents[2] / "deploy" / "ha" / "stack.py"
_TOOLS = ("patroni", "etcd", "haproxy", "pgbouncer")


def missing_tools() -> list[str]:
    """The HA tools this machine lacks (``scripts/ensure-test-tools`` installs them)."""
    missing = [t for t in _TOOLS if not (shutil.which(t) or os.access(f"/usr/sbin/{t}", os.X_OK))]
    if not Path("/usr/lib/postgresql/15/bin/postgres").exists():
        missing.append("postgresql-15")
    return missing


@dataclass(frozen=True)
class Node:
    name: str
    pg_port: int
    api_port: int
    data_dir: Path
    url: str


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class HaCluster:
    """One running stack; :meth:`up` it, :meth:`down` it (always)."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info
        self.dir = Path(info["dir"])
        self.nodes = [
            Node(n["name"], n["pg_port"], n["api_port"], Path(n["data_dir"]), n["url"])
            for n in info["nodes"]
        ]
        self.urls: dict[str, str] = info["urls"]
        self.frozen: set[str] = set()

    # -- life ----------------------------------------------------------------------------

    @classmethod
    async def up(cls, *, nodes: int = 2, synchronous: bool = True) -> HaCluster:
        base = Path(tempfile.mkdtemp(prefix="stockd-ha-"))
        argv = [sys.executable, str(_STACK), "up", "--dir", str(base), "--nodes", str(nodes)]
        if not synchronous:
            argv.append("--async")
        result = await asyncio.to_thread(
            subprocess.run, argv, capture_output=True, text=True, timeout=300, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"the HA stack did not come up:\n{result.stderr[-4000:]}")
        return cls(json.loads(result.stdout))

    async def down(self) -> str:
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, str(_STACK), "down", "--dir", str(self.dir)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return result.stderr

    # -- who is who ----------------------------------------------------------------------

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    async def role(self, node: Node) -> str | None:
        """``primary``, ``replica`` or ``None``, from Patroni's REST API."""

        def ask() -> str | None:
            import urllib.request

            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{node.api_port}/patroni", timeout=1
                ) as reply:
                    role = json.loads(reply.read()).get("role")
            except (OSError, ValueError):
                return None
            return "primary" if role in ("master", "primary") else str(role)

        if node.name in self.frozen:
            return None
        return await asyncio.to_thread(ask)

    async def leader(self) -> Node:
        for node in self.nodes:
            if await self.role(node) == "primary":
                return node
        raise AssertionError("no Patroni leader")

    async def wait_leader(self, *, other_than: str | None = None, timeout: float = 60) -> Node:  # noqa: ASYNC109
        """The leader once there is one (not ``other_than``), read on the server itself."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for node in self.nodes:
                if node.name == other_than or node.name in self.frozen:
                    continue
                if await self.role(node) == "primary" and await self.is_primary(node):
                    return node
            await asyncio.sleep(0.2)
        raise TimeoutError(f"no new leader within {timeout} s")

    async def is_primary(self, node: Node) -> bool:
        try:
            conn = await asyncpg.connect(node.url, timeout=2)
        except (OSError, TimeoutError, asyncpg.PostgresError):
            return False
        try:
            return not await conn.fetchval("SELECT pg_is_in_recovery()", timeout=2)
        except (OSError, TimeoutError, asyncpg.PostgresError):
            return False
        finally:
            conn.terminate()

    async def wait_healthy(self, timeout: float = 120) -> None:  # noqa: ASYNC109
        """One leader and every other node a streaming replica (after a failover)."""
        deadline = time.monotonic() + timeout
        roles: list[str | None] = []
        while time.monotonic() < deadline:
            roles = [await self.role(n) for n in self.nodes]
            if roles.count("primary") == 1 and roles.count("replica") == len(self.nodes) - 1:
                return
            await asyncio.sleep(0.5)
        raise TimeoutError(f"the cluster did not heal within {timeout} s: {roles}")

    # -- processes -----------------------------------------------------------------------

    def patroni_pid(self, node: Node) -> int:
        return int(self.info["pids"][f"patroni-{node.name}"])

    def postmaster_pid(self, node: Node) -> int | None:
        try:
            return int((node.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _node_pids(self, node: Node) -> list[int]:
        pids = [self.patroni_pid(node), *_children(self.patroni_pid(node))]
        postmaster = self.postmaster_pid(node)
        if postmaster is not None:
            pids += [postmaster, *_children(postmaster)]
        return list(dict.fromkeys(pids))

    def _signal(self, pids: list[int], sig: signal.Signals) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def freeze(self, node: Node, *, patroni: bool = True) -> None:
        """SIGSTOP the node's PostgreSQL (every process) and, with ``patroni``, its Patroni:
        a hung server, or one cut off by a partition."""
        pids = self._node_pids(node)
        if not patroni:
            pids = [p for p in pids if p != self.patroni_pid(node)]
        self._signal(pids, signal.SIGSTOP)
        self.frozen.add(node.name)

    def thaw(self, node: Node) -> None:
        self._signal(self._node_pids(node), signal.SIGCONT)
        self.frozen.discard(node.name)

    def kill(self, node: Node) -> None:
        """SIGKILL the node's Patroni and PostgreSQL: the machine died."""
        self._signal(self._node_pids(node), signal.SIGKILL)

    def walsender_pids(self, node: Node) -> list[int]:
        """The node's WAL senders (one per standby streaming from it)."""
        postmaster = self.postmaster_pid(node)
        if postmaster is None:
            return []
        return [pid for pid in _children(postmaster) if "walsender" in _comm(pid)]

    def startup_pid(self, node: Node) -> int | None:
        """A standby's startup process (the one replaying WAL)."""
        postmaster = self.postmaster_pid(node)
        if postmaster is None:
            return None
        found = [pid for pid in _children(postmaster) if ": startup" in _comm(pid)]
        return found[0] if found else None

    def walreceiver_pid(self, node: Node) -> int | None:
        postmaster = self.postmaster_pid(node)
        if postmaster is None:
            return None
        for pid in _children(postmaster):
            if "walreceiver" in _comm(pid):
                return pid
        return None

    async def psql(self, node: Node, *statements: str) -> None:
        """Each statement on its own, in one session, as the superuser."""
        conn = await asyncpg.connect(node.url.replace("/stockd", "/postgres"), timeout=5)
        try:
            for sql in statements:
                await conn.execute(sql)
        finally:
            await conn.close()

    async def set_read_only(self, node: Node, on: bool) -> None:
        """``default_transaction_read_only`` for the whole server, existing sessions too."""
        value = "on" if on else "off"
        await self.psql(
            node,
            "SET default_transaction_read_only = off",
            f"ALTER SYSTEM SET default_transaction_read_only = {value}",
            "SELECT pg_reload_conf()",
        )
