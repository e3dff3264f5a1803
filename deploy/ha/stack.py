#!/usr/bin/env python3
"""A whole stockd high-availability stack on one machine, from Debian's packages.

    deploy/ha/stack.py up   [--dir DIR] [--nodes 2|3] [--async]   # prints DIR/stack.json
    deploy/ha/stack.py down  --dir DIR                            # stops it, deletes DIR
    deploy/ha/stack.py status --dir DIR

``up`` starts, under a temporary directory and on free loopback ports of its own
(never 5432: the machine's own PostgreSQL is left alone), one etcd, two or three
PostgreSQL 15 nodes run by Patroni in synchronous mode (``--async`` for plain
streaming replication), HAProxy (a primary port and a replica port, chosen by
Patroni's REST API) and pgbouncer in transaction mode in front of HAProxy's primary
port. It waits until there is a leader and every replica streams, creates the
``stockd`` database, and writes ``stack.json``: the ports, the process ids and the
URLs (``multihost``, ``haproxy``, ``replicas``, ``pgbouncer``, one per node).

Everything runs as the ``postgres`` system user when started as root (PostgreSQL and
pgbouncer refuse root). ``down`` stops only the processes ``up`` started (by the
ids in ``stack.json``, then any postmaster left in the stack's data directories).

Install the tools with ``apt-get install patroni etcd-server haproxy pgbouncer
postgresql-15`` (``scripts/ensure-test-tools`` does it for the test suite). Only
the standard library is used, so any Python 3.11 runs this.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
SCOPE = "stockd"
DATABASE = "stockd"
PASSWORD = "stockd-ha-test"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
RUN_AS = "postgres"


class StackError(RuntimeError):
    """Bringing the stack up or down failed; the message says which part."""


def _tool(name: str) -> str:
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise StackError(
        f"{name} is not installed: apt-get install patroni etcd-server haproxy pgbouncer"
        " (or run scripts/ensure-test-tools)"
    )


def _free_ports(count: int) -> list[int]:
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def _user() -> pwd.struct_passwd | None:
    return pwd.getpwnam(RUN_AS) if os.geteuid() == 0 else None


def _chown(path: Path, user: pwd.struct_passwd | None) -> None:
    if user is None:
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, user.pw_uid, user.pw_gid)
        for name in (*dirs, *files):
            os.chown(os.path.join(root, name), user.pw_uid, user.pw_gid)


def _write_config(folder: Path, template: str, values: dict[str, Any]) -> Path:
    """Writes ``template`` (a ``*.in`` file beside this one) filled with ``values`` into
    ``folder`` (made if missing) under its name less ``.in``; returns that file."""
    text = string.Template((HERE / template).read_text())
    folder.mkdir(exist_ok=True)
    written = folder / template.removesuffix(".in")
    written.write_text(text.substitute({k: str(v) for k, v in values.items()}))
    return written


def _spawn(argv: list[str], log: Path, user: pwd.struct_passwd | None) -> int:
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: down signals only it
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            cwd=log.parent,
            env={**os.environ, "HOME": str(log.parent)},
        )
    return process.pid


def _http(url: str, timeout: float = 1.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status, reply.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except (OSError, ValueError):
        return 0, ""


def _wait(what: str, probe: Any, timeout: float, logs: list[Path]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    tails = "\n".join(f"--- {p}:\n{_tail(p)}" for p in logs)
    raise StackError(f"{what}: not within {timeout:g} s\n{tails}")


def _tail(path: Path, chars: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):  # a zombie we started is not alive
        if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            return False
    return True


def node_role(api_port: int) -> str | None:
    """``primary``, ``replica`` or ``None`` (down), from the node's Patroni REST API."""
    status, body = _http(f"http://{HOST}:{api_port}/patroni")
    if not status:
        return None
    try:
        role = json.loads(body).get("role")
    except ValueError:
        return None
    return "primary" if role in ("master", "primary") else str(role)


def up(base: Path, *, nodes: int = 2, synchronous: bool = True, ttl: int = 10) -> dict[str, Any]:
    """Start the stack under ``base``; returns (and writes) its description."""
    tools = {name: _tool(name) for name in ("patroni", "etcd", "haproxy", "pgbouncer")}
    if not (PG_BIN / "postgres").exists():
        raise StackError(
            f"PostgreSQL 15 is not installed ({PG_BIN}): apt-get install postgresql-15"
        )
    user = _user()
    base.mkdir(parents=True, exist_ok=True)
    ports = _free_ports(5 + 2 * nodes)
    etcd_client, etcd_peer, rw_port, ro_port, bouncer_port = ports[:5]
    node_ports = [(ports[5 + 2 * i], ports[6 + 2 * i]) for i in range(nodes)]
    stack: dict[str, Any] = {
        "dir": str(base),
        "host": HOST,
        "database": DATABASE,
        "synchronous": synchronous,
        "ttl": ttl,
        "ports": {
            "etcd": etcd_client,
            "haproxy_primary": rw_port,
            "haproxy_replicas": ro_port,
            "pgbouncer": bouncer_port,
        },
        "nodes": [],
        "pids": {},
    }
    logs: list[Path] = []

    def save() -> None:
        (base / "stack.json").write_text(json.dumps(stack, indent=2) + "\n")

    # etcd: one member is enough for one machine (production: three, on three hosts).
    (base / "etcd").mkdir(exist_ok=True)
    _chown(base, user)
    etcd_log = base / "etcd" / "etcd.log"
    logs.append(etcd_log)
    stack["pids"]["etcd"] = _spawn(
        [
            tools["etcd"],
            "--name=etcd1",
            f"--data-dir={base / 'etcd' / 'data'}",
            f"--listen-client-urls=http://{HOST}:{etcd_client}",
            f"--advertise-client-urls=http://{HOST}:{etcd_client}",
            f"--listen-peer-urls=http://{HOST}:{etcd_peer}",
            f"--initial-advertise-peer-urls=http://{HOST}:{etcd_peer}",
            f"--initial-cluster=etcd1=http://{HOST}:{etcd_peer}",
            "--initial-cluster-state=new",
            "--log-level=warn",
            "--enable-v2=true",  # Patroni's etcd (v2) client: see patroni.yml.in
        ],
        etcd_log,
        user,
    )
    save()
    _wait(
        "etcd healthy",
        lambda: _http(f"http://{HOST}:{etcd_client}/health")[0] == 200,
        30,
        logs,
    )

    for i, (pg_port, api_port) in enumerate(node_ports, start=1):
        name = f"node{i}"
        node_dir = base / name
        config = _write_config(
            node_dir,
            "patroni.yml.in",
            {
                "scope": SCOPE,
                "name": name,
                "log_dir": node_dir,
                "host": HOST,
                "api_port": api_port,
                "pg_port": pg_port,
                "etcd_hosts": f"{HOST}:{etcd_client}",
                "ttl": ttl,
                "loop_wait": 1,
                "retry_timeout": max(2, ttl // 3),
                "synchronous_mode": "true" if synchronous else "false",
                "data_dir": node_dir / "data",
                "bin_dir": PG_BIN,
                "node_dir": node_dir,
                "password": PASSWORD,
                "watchdog_mode": "off",  # see patroni.yml.in: never on a test box
                "stop_timeout": 5,
            },
        )
        config.chmod(0o600)
        _chown(node_dir, user)
        log = node_dir / "patroni.out"
        logs.append(log)
        stack["nodes"].append(
            {
                "name": name,
                "pg_port": pg_port,
                "api_port": api_port,
                "data_dir": str(node_dir / "data"),
                "url": f"postgresql://postgres@{HOST}:{pg_port}/{DATABASE}",
            }
        )
        stack["pids"][f"patroni-{name}"] = _spawn([tools["patroni"], str(config)], log, user)
        save()
        if i == 1:  # the first node bootstraps the cluster; the others clone it
            _wait("a Patroni leader", lambda: node_role(node_ports[0][1]) == "primary", 90, logs)

    def replicas_streaming() -> bool:
        roles = [node_role(api) for _, api in node_ports]
        if roles.count("primary") != 1:
            return False
        for _, api in node_ports:
            if node_role(api) == "replica":
                status, body = _http(f"http://{HOST}:{api}/patroni")
                if status != 200 or json.loads(body).get("state") not in ("running", "streaming"):
                    return False
        if synchronous and nodes > 1:
            return any(_http(f"http://{HOST}:{api}/sync")[0] == 200 for _, api in node_ports)
        return all(r is not None for r in roles)

    _wait("replicas streaming", replicas_streaming, 120, logs)
    leader = next(n for n in stack["nodes"] if node_role(n["api_port"]) == "primary")
    _psql(leader["pg_port"], f"CREATE DATABASE {DATABASE}", user)

    servers = "\n".join(
        f"    server {n['name']} {HOST}:{n['pg_port']} check port {n['api_port']}"
        for n in stack["nodes"]
    )
    haproxy_dir = base / "haproxy"
    haproxy_cfg = _write_config(
        haproxy_dir,
        "haproxy.cfg.in",
        {
            "host": HOST,
            "rw_port": rw_port,
            "ro_port": ro_port,
            "pidfile": haproxy_dir / "haproxy.pid",
            "primary_servers": servers,
            "replica_servers": servers,
        },
    )
    bouncer_dir = base / "pgbouncer"
    bouncer_ini = _write_config(
        bouncer_dir,
        "pgbouncer.ini.in",
        {
            "host": HOST,
            "rw_port": rw_port,
            "bouncer_port": bouncer_port,
            "bouncer_dir": bouncer_dir,
            "auth_type": "trust",
        },
    )
    (bouncer_dir / "userlist.txt").write_text(f'"postgres" "{PASSWORD}"\n')
    _chown(base, user)
    log = haproxy_dir / "haproxy.log"
    logs.append(log)
    stack["pids"]["haproxy"] = _spawn([tools["haproxy"], "-db", "-f", str(haproxy_cfg)], log, user)
    log = bouncer_dir / "pgbouncer.out"
    logs.append(log)
    stack["pids"]["pgbouncer"] = _spawn([tools["pgbouncer"], str(bouncer_ini)], log, user)
    stack["urls"] = {
        "multihost": "postgresql://postgres@"
        + ",".join(f"{HOST}:{n['pg_port']}" for n in stack["nodes"])
        + f"/{DATABASE}?target_session_attrs=read-write",
        "haproxy": f"postgresql://postgres@{HOST}:{rw_port}/{DATABASE}",
        "replicas": f"postgresql://postgres@{HOST}:{ro_port}/{DATABASE}",
        "pgbouncer": f"postgresql://postgres@{HOST}:{bouncer_port}/{DATABASE}",
    }
    save()
    _wait("HAProxy's primary port", lambda: _port_open(rw_port), 20, logs)
    _wait("pgbouncer", lambda: _port_open(bouncer_port), 20, logs)
    _wait(
        "the primary through HAProxy",
        lambda: _psql_ok(rw_port, user),
        20,
        logs,
    )
    return stack


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


def _psql(port: int, sql: str, user: pwd.struct_passwd | None, database: str = "postgres") -> str:
    result = subprocess.run(
        [
            str(PG_BIN / "psql"),
            "-h",
            HOST,
            "-p",
            str(port),
            "-U",
            "postgres",
            "-d",
            database,
            "-XAtqc",
            sql,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, "PGCONNECT_TIMEOUT": "5"},
    )
    if result.returncode != 0:
        raise StackError(f"psql on port {port}: {sql}: {result.stderr.strip()}")
    return result.stdout


def _psql_ok(port: int, user: pwd.struct_passwd | None) -> bool:
    try:
        return _psql(port, "SELECT NOT pg_is_in_recovery()", user, DATABASE).strip() == "t"
    except (StackError, subprocess.TimeoutExpired):
        return False


def _postmasters(base: Path) -> list[int]:
    pids = []
    for pidfile in base.glob("node*/data/postmaster.pid"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            pids.append(int(pidfile.read_text().split()[0]))
    return pids


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def down(base: Path, *, keep: bool = False) -> list[str]:
    """Stop every process ``up`` started under ``base`` and delete it; what was left."""
    described = base / "stack.json"
    if not described.exists():
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
        return []
    stack = json.loads(described.read_text())
    pids: dict[str, int] = stack.get("pids", {})
    order = [n for n in pids if n.startswith("patroni-")] + [
        n for n in ("pgbouncer", "haproxy", "etcd") if n in pids
    ]
    for name in order:  # SIGCONT first: a node a test froze must hear SIGTERM
        _signal_group(pids[name], signal.SIGCONT)
    for pid in _postmasters(base):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGCONT)
    for name in order:
        _signal_group(pids[name], signal.SIGTERM)
        if name.startswith("patroni-"):  # Patroni stops its PostgreSQL (fast) first
            deadline = time.monotonic() + 20
            while _alive(pids[name]) and time.monotonic() < deadline:
                time.sleep(0.1)
    deadline = time.monotonic() + 10
    while any(_alive(pids[n]) for n in order) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = []
    for name in order:
        if _alive(pids[name]):
            left.append(name)
            _signal_group(pids[name], signal.SIGKILL)
    for pid in _postmasters(base):  # a postmaster whose Patroni was killed
        if _alive(pid):
            left.append(f"postmaster {pid}")
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGQUIT)
                time.sleep(1)
                os.killpg(os.getpgid(pid), signal.SIGKILL)
    if not keep:
        shutil.rmtree(base, ignore_errors=True)
    return left


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stack.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="start the stack; prints stack.json")
    p_up.add_argument("--dir", type=Path, default=None)
    p_up.add_argument("--nodes", type=int, choices=(2, 3), default=2)
    p_up.add_argument("--async", dest="asynchronous", action="store_true")
    p_up.add_argument("--ttl", type=int, default=10, help="Patroni's leader key TTL (s)")
    p_down = sub.add_parser("down", help="stop the stack and delete its directory")
    p_down.add_argument("--dir", type=Path, required=True)
    p_down.add_argument("--keep", action="store_true", help="keep the directory (logs)")
    p_status = sub.add_parser("status", help="each node's role")
    p_status.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            base = args.dir or Path(tempfile.mkdtemp(prefix="stockd-ha-"))
            try:
                stack = up(base, nodes=args.nodes, synchronous=not args.asynchronous, ttl=args.ttl)
            except BaseException:
                down(base, keep=True)
                raise
            print(json.dumps(stack, indent=2))
        elif args.command == "down":
            left = down(args.dir, keep=args.keep)
            if left:
                print(f"killed (did not stop in time): {', '.join(left)}", file=sys.stderr)
        else:
            stack = json.loads((args.dir / "stack.json").read_text())
            for node in stack["nodes"]:
                print(f"{node['name']} {node['pg_port']} {node_role(node['api_port'])}")
    except StackError as exc:
        print(f"stack.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
