"""Whole deployments for soak, multi-node tests and benchmarks.

:class:`PrivateCluster` is a throwaway PostgreSQL this process owns: the ``pgserver``
package's binaries, ``initdb`` into a temporary directory, listening on a free
loopback port (and a Unix socket in that directory). Unlike the session's shared
server it may be stopped, crashed (``immediate``) and started again at will: that is
what the soak does to it. It never touches a PostgreSQL it did not create.

:class:`StockdProcess` is one ``python -m stockd gateway|web|serve --config FILE``
subprocess: started and waited for until it prints its ready line, stopped with any
signal, its peak RSS read from ``/proc``. :func:`write_config` writes the TOML it
runs on.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib.util
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import asyncpg

from tests.pg import UNSEQUENCED
from tests.pg import fresh_database

__all__ = [
    "PrivateCluster",
    "ScannerLine",
    "StockdProcess",
    "feed_head",
    "free_port",
    "peak_rss_kib",
    "spooled_count",
    "started_serve",
    "stockd_verify",
    "write_config",
]

_RUN_AS = "pgserver"
"""initdb refuses to run as root; pgserver's own convention is this system user."""

_DEFAULT_SETTINGS: dict[str, str] = {
    "max_connections": "300",
    "shared_buffers": "128MB",
    "log_min_messages": "warning",
    "log_checkpoints": "off",
    "logging_collector": "off",
}


def _pg_bin() -> Path:
    """pgserver's bundled binaries, found without importing it (its import warns)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the pgserver package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the moment of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _owner() -> str | None:
    return _RUN_AS if os.geteuid() == 0 else None


def _chown_tree(path: Path, user: str | None) -> None:
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in (*dirs, *files):
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


@dataclass
class PrivateCluster:
    """A PostgreSQL server of our own; :meth:`create` it, :meth:`destroy` it after."""

    base: Path
    port: int
    user: str | None
    settings: dict[str, str] = field(default_factory=dict)
    running: bool = False
    restarts: int = 0
    bin_dir: Path | None = None
    """PostgreSQL binaries; pgserver's when ``None``."""

    # -- life ------------------------------------------------------------------------

    @classmethod
    def create(
        cls, *, settings: dict[str, str] | None = None, bin_dir: Path | None = None
    ) -> PrivateCluster:
        """``initdb`` a new cluster in a temporary directory and start it.

        ``bin_dir`` picks other binaries (e.g. ``/usr/lib/postgresql/15/bin``, whose
        contrib modules such as ``pg_stat_statements`` pgserver does not ship).
        """
        user = _owner()
        base = Path(tempfile.mkdtemp(prefix="stockd-private-pg-"))
        (base / "sock").mkdir()
        if user is not None:
            _chown_tree(base, user)
        cluster = cls(
            base=base,
            port=free_port(),
            user=user,
            settings=dict(settings or {}),
            bin_dir=bin_dir,
        )
        atexit.register(cluster.destroy)
        cluster._run(
            "initdb",
            "-D",
            str(cluster.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        conf = {
            **_DEFAULT_SETTINGS,
            "listen_addresses": "'127.0.0.1'",
            "port": str(cluster.port),
            "unix_socket_directories": f"'{base / 'sock'}'",
            **cluster.settings,
        }
        with (cluster.data / "postgresql.conf").open("a") as out:
            out.write("\n# stockd private cluster\n")
            out.writelines(f"{k} = {v}\n" for k, v in conf.items())
        cluster.start()
        return cluster

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def logfile(self) -> Path:
        return self.base / "postgres.log"

    def _run(self, exe: str, *args: str, timeout: float = 60) -> str:
        result = subprocess.run(
            [str((self.bin_dir or _pg_bin()) / exe), *args],
            user=self.user,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.base,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{exe} {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def start(self) -> None:
        if self.running:
            return
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-w", "-t", "60", "start"
        )
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """``fast`` (clean shutdown, clients disconnected) or ``immediate`` (a crash)."""
        if not self.running:
            return
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
        self.running = False

    def restart(self, mode: str = "fast", down_for: float = 0.0) -> None:
        self.stop(mode)
        if down_for > 0:
            time.sleep(down_for)
        self.start()
        self.restarts += 1

    async def astop(self, mode: str = "fast") -> None:
        await asyncio.to_thread(self.stop, mode)

    async def astart(self) -> None:
        await asyncio.to_thread(self.start)

    def destroy(self) -> None:
        """Stop the server (hard) and delete its files. Idempotent."""
        if self.running:
            with contextlib.suppress(Exception):
                self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)

    # -- addresses -------------------------------------------------------------------

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    async def version(self) -> str:
        conn = await asyncpg.connect(self.url())
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    async def create_database(self, name: str) -> str:
        await fresh_database(self.url(), name)
        return self.url(name)

    async def drop_database(self, name: str) -> None:
        conn = await asyncpg.connect(self.url())
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


# -- stockd subprocesses --------------------------------------------------------------


@dataclass(frozen=True)
class ScannerLine:
    """One ``[[scanners]]`` table: a Honeywell-style scanner on a pty path by default."""

    id: str
    url: str
    mode: str = "receive"
    location: str | None = "DOCK-1"
    baudrate: int = 115200
    terminator: str = "CRLF"
    feedback: str = "honeywell"


def write_config(
    path: Path,
    *,
    scanners: Sequence[ScannerLine] = (),
    spool_dir: Path | None = None,
    group_commit: bool = True,
    batch_max: int = 256,
    reconnect_max_s: float = 0.5,
    pool_size: int | None = None,
    web_port: int = 0,
    commit_workers: int | None = None,
) -> Path:
    """A stockd TOML config; the database comes from ``DATABASE_URL``.

    Settings left ``None`` are not written, so stockd's own defaults apply.
    """
    lines = ["[web]", 'host = "127.0.0.1"', f"port = {web_port}", ""]
    if pool_size is not None:
        lines += ["[database]", f"pool_size = {pool_size}", ""]
    lines += [
        "[gateway]",
        f"group_commit = {'true' if group_commit else 'false'}",
        f"batch_max = {batch_max}",
        f"reconnect_max_s = {reconnect_max_s}",
    ]
    if commit_workers is not None:
        lines.append(f"commit_workers = {commit_workers}")
    if spool_dir is not None:
        lines.append(f'spool_dir = "{spool_dir}"')
    lines.append("")
    for s in scanners:
        lines += [
            "[[scanners]]",
            f'id = "{s.id}"',
            f'url = "{s.url}"',
            f"baudrate = {s.baudrate}",
            f'terminator = "{s.terminator}"',
            f'feedback = "{s.feedback}"',
            f'mode = "{s.mode}"',
        ]
        if s.location is not None:
            lines.append(f'location = "{s.location}"')
        lines.append("")
    path.write_text("\n".join(lines))
    return path


def peak_rss_kib(pid: int) -> int:
    """``VmHWM`` (peak resident set) of a live process, in KiB; 0 when unknown."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    return int(found.group(1)) if found else 0


_READY = re.compile(rb"stockd (gateway|web|serve):[^\n]*\n")
_URL = re.compile(rb"(http://[0-9.:]+)/")


class StockdProcess:
    """``python -m stockd COMMAND --config FILE``, one life at a time."""

    def __init__(
        self,
        command: str,
        config: Path,
        *,
        database_url: str,
        log_dir: Path,
        home: Path | None = None,
        name: str | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        """``home`` (``STOCKD_HOME``) defaults to ``NAME.home`` in ``log_dir``."""
        self.command = command
        self.config = config
        self.name = name or command
        self.log_dir = log_dir
        home = home or log_dir / f"{self.name}.home"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKD_")}
        self.env.update(DATABASE_URL=database_url, STOCKD_HOME=str(home))
        self.env.update(extra_env or {})
        self.process: asyncio.subprocess.Process | None = None
        self.lives = 0
        self.url: str | None = None
        """``http://127.0.0.1:PORT`` for ``web`` and ``serve`` once ready."""
        log_dir.mkdir(parents=True, exist_ok=True)

    @property
    def errlog(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    @property
    def feed_url(self) -> str:
        """The ``/feed`` websocket of a started ``web`` or ``serve``."""
        assert self.url is not None, f"{self.name} serves no HTTP (yet)"
        return self.url.replace("http://", "ws://") + "/feed"

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} is not running"
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        assert self.process is None, f"{self.name} already runs"
        self.lives += 1
        out = self.log_dir / f"{self.name}.{self.lives}.out"
        with self.errlog.open("ab") as err, out.open("wb") as stdout:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "stockd",
                self.command,
                "--config",
                str(self.config),
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=stdout,
                stderr=err,
            )
        deadline = time.monotonic() + timeout
        while True:
            text = out.read_bytes()
            if _READY.search(text):
                found = _URL.search(text)
                self.url = found.group(1).decode() if found else None
                return
            if self.process.returncode is not None or time.monotonic() > deadline:
                code = self.process.returncode
                self.process = None
                raise RuntimeError(f"{self.name} did not start (exit {code}):\n{self.tail()}")
            await asyncio.sleep(0.05)

    async def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 15.0) -> int:  # noqa: ASYNC109
        """Send ``sig`` and wait for the exit; returns the exit status."""
        process, self.process = self.process, None
        assert process is not None, f"{self.name} is not running"
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        try:
            async with asyncio.timeout(timeout):
                return await process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise RuntimeError(f"{self.name} ignored {sig.name} for {timeout}s") from None

    async def kill(self) -> int:
        return await self.stop(signal.SIGKILL)

    def peak_rss_kib(self) -> int:
        return peak_rss_kib(self.pid) if self.running else 0

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.errlog.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


async def started_serve(config: Path, database_url: str, work: Path) -> StockdProcess:
    """``stockd serve`` on ``config`` and ``database_url``, its home and logs in
    ``work``, started (its ``url`` known)."""
    serve = StockdProcess(
        "serve", config, database_url=database_url, home=work / "home", log_dir=work
    )
    await serve.start()
    assert serve.url is not None
    return serve


async def stockd_verify(url: str, home: Path) -> tuple[int, str]:
    """``stockd verify`` against ``url``: its exit status and its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKD_")}
    env.update(DATABASE_URL=url, STOCKD_HOME=str(home))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "stockd",
        "verify",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return int(proc.returncode or 0), out.decode(errors="replace")


async def feed_head(url: str) -> int:
    """Wait for every outbox row to be sequenced; the highest seq."""
    conn = await asyncpg.connect(url)
    try:
        deadline = time.monotonic() + 30
        while await conn.fetchval(UNSEQUENCED):
            if time.monotonic() > deadline:
                raise TimeoutError("outbox rows left unsequenced")
            await asyncio.sleep(0.2)
        return int(await conn.fetchval("SELECT coalesce(max(seq), 0) FROM feed"))
    finally:
        await conn.close()


def spooled_count(directory: Path) -> int:
    """Scans waiting in the gateway spool at ``directory`` (none if it is not there)."""
    from scanner_gateway.spool import pending_records

    return len(pending_records(directory))
