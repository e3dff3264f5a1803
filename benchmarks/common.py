"""What every benchmark shares: a scratch database, stockd subprocesses, simulated
scanners on ptys, light feed clients, percentiles, machine facts and the JSON output.

Every benchmark is loopback-only and measures its own baseline in the same run, so a
ratio means something on a noisy two-core box. By default each script makes a
private PostgreSQL (``tests.cluster.PrivateCluster``, pgserver's binaries, fsync on)
so no other work on the machine's databases disturbs it; ``BENCH_DATABASE_URL`` (an
admin URL such as ``postgresql://postgres@127.0.0.1:5432/test``) makes it create
its scratch database on that server instead, and drop it afterwards.

Load generators here avoid threads: :class:`LoopPty` is a scanner on a real pty
driven from the event loop (``add_reader`` on the master; the gateway opens the
slave by its stable symlink exactly as it opens ``/dev/ttyUSB0``), and
:class:`FeedClient` is a minimal WebSocket client (RFC 6455 frames parsed in
``data_received``) so a thousand displays cost the bench process little.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import hashlib
import json
import os
import platform
import pwd
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
import tty
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import psutil  # type: ignore[import-untyped]  # noqa: E402  (pgserver depends on it)

from hardware_mocks.feedback import Feedback, FeedbackParser  # noqa: E402
from hardware_mocks.frames import HONEYWELL, ScannerModel  # noqa: E402
from hardware_mocks.warehouse import Warehouse, build_warehouse  # noqa: E402
from stock_core.domain.token import Role  # noqa: E402
from stock_core.service import StockService  # noqa: E402
from stock_core.store.migrate import migrate  # noqa: E402
from tests.cluster import PrivateCluster, ScannerLine, StockdProcess, write_config  # noqa: E402

__all__ = [
    "RESULTS",
    "ROOT",
    "BenchDatabase",
    "CpuMeter",
    "FeedClient",
    "LoopPty",
    "ScannerLine",
    "StockdProcess",
    "WaitSampler",
    "bench_database",
    "connect_displays",
    "forecaster_settled",
    "machine_facts",
    "percentiles",
    "postmaster_pid",
    "profile_summary",
    "quiet_gc",
    "raw_ceiling",
    "start_profile",
    "statements_bin_dir",
    "statements_reset",
    "statements_top",
    "top_frames",
    "verdict",
    "wait_connected",
    "write_config",
    "write_results",
]

RESULTS = ROOT / "benchmarks" / "results"


# -- figures --------------------------------------------------------------------------


def percentiles(values: Sequence[float], scale: float = 1000.0) -> dict[str, float]:
    """p50/p90/p99/max (times ``scale``: seconds to ms by default) and the count."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
        return round(ordered[index] * scale, 2)

    return {
        "n": len(ordered),
        "p50": at(0.50),
        "p90": at(0.90),
        "p99": at(0.99),
        "max": round(ordered[-1] * scale, 2),
        "mean": round(statistics.fmean(ordered) * scale, 2),
    }


def verdict(value: float, target: float, *, at_most: bool = False) -> str:
    ok = value <= target if at_most else value >= target
    sign = "<=" if at_most else ">="
    return f"target {sign} {target:g}: {'HOLDS' if ok else 'MISSES'}"


def machine_facts(pg_version: str, pg_where: str) -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "postgres_version": pg_version,
        "postgres": pg_where,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "note": "a shared 2-core VM: other work may run meanwhile; see each phase's"
        " cpu_cores.other",
        "git_commit": commit + ("+dirty" if dirty else ""),
    }


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


@contextlib.contextmanager
def quiet_gc() -> Iterator[None]:
    """No collector pauses in the bench process while it stamps arrivals: the
    latencies measured must be stockd's, not the load generator's."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def write_results(name: str, data: dict[str, Any]) -> Path:
    """``results/<name>.json`` (the latest run) and one line appended to
    ``results/<name>.history.jsonl`` (every run, for medians over runs)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    data["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    with (RESULTS / f"{name}.history.jsonl").open("a") as history:
        history.write(json.dumps(data, default=str, separators=(",", ":")) + "\n")
    print(f"results: {path.relative_to(ROOT)}")
    return path


class CpuMeter:
    """CPU seconds used by this process and by given pids (and their children) over a span.

    Reported as a share of one core, so "1.0" means one core was busy all along: on a
    two-core box it tells whether the bench itself, PostgreSQL or stockd was the
    bottleneck. ``machine`` is every core's busy time; ``other`` what none of the
    named processes used (other work on a shared machine, the kernel);
    ``gateway.kernel`` (and ``web.kernel``) the part of that process's share spent
    in system calls.
    """

    def __init__(self, **pids: int) -> None:
        self.pids = pids
        self._start: dict[str, float] = {}
        self._t0 = 0.0

    @staticmethod
    def _tree_cpu(pid: int) -> float:
        """CPU of ``pid``, its live descendants, and the children it already reaped
        (PostgreSQL backends come and go; their time lands in the postmaster's)."""
        try:
            proc = psutil.Process(pid)
            procs = [proc, *proc.children(recursive=True)]
        except psutil.Error:
            return 0.0
        total = 0.0
        for p in procs:
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
        return total

    @staticmethod
    def _kernel_cpu(pid: int) -> float:
        with contextlib.suppress(psutil.Error):
            return float(psutil.Process(pid).cpu_times().system)
        return 0.0

    def _sample(self) -> dict[str, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        sample = {"bench": usage.ru_utime + usage.ru_stime}
        for name, pid in self.pids.items():
            sample[name] = self._tree_cpu(pid)
            if name in ("gateway", "web", "serve"):
                sample[f"{name}.kernel"] = self._kernel_cpu(pid)
        t = psutil.cpu_times()
        sample["machine"] = sum(t) - t.idle - getattr(t, "iowait", 0.0)
        return sample

    def start(self) -> None:
        self._start = self._sample()
        self._t0 = time.monotonic()

    def stop(self) -> dict[str, float]:
        end = self._sample()
        span = max(time.monotonic() - self._t0, 1e-9)
        out = {k: round((end[k] - self._start.get(k, 0.0)) / span, 2) for k in end}
        # What else ran on the machine meanwhile (other people's work, the kernel).
        named = sum(v for k, v in out.items() if k != "machine" and "." not in k)
        out["other"] = round(out["machine"] - named, 2)
        return out


# -- the database -----------------------------------------------------------------------


@dataclass
class BenchDatabase:
    url: str
    name: str
    pg_version: str
    where: str
    warehouse: Warehouse
    cluster: PrivateCluster | None = None
    pool: asyncpg.Pool[Any] | None = None
    statements: bool = False
    """``pg_stat_statements`` is loaded and created in this database."""

    @property
    def service(self) -> StockService:
        assert self.pool is not None
        return StockService(self.pool)

    async def token(self, role: str, name: str) -> str:
        text, _ = await self.service.create_token(name, Role(role))
        return text


def _with_database(url: str, name: str) -> str:
    base, sep, query = url.partition("?")
    return base.rsplit("/", 1)[0] + f"/{name}" + (sep + query if sep else "")


def _ensure_cluster_user(name: str = "pgserver") -> None:
    """As root, ``initdb`` runs as pgserver's system user: create it as pgserver itself
    does on first use (``useradd``) when a fresh machine has none yet."""
    if os.geteuid() != 0:
        return
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "-s", "/bin/bash", name], check=True, capture_output=True)


@contextlib.asynccontextmanager
async def bench_database(
    label: str,
    *,
    products: int = 300,
    pool_size: int = 8,
    statements: bool = False,
) -> AsyncIterator[BenchDatabase]:
    """A migrated scratch database with the sample warehouse's catalog, dropped after.

    ``statements``: load ``pg_stat_statements`` (see :func:`statements_bin_dir`; the
    private cluster then runs on the binaries that ship it, which may be another
    PostgreSQL version than pgserver's). ``db.statements`` says whether it works.
    """
    admin = os.environ.get("BENCH_DATABASE_URL")
    cluster = None
    if admin:
        where = "BENCH_DATABASE_URL (" + admin.rsplit("@", 1)[-1] + ")"
    else:
        _ensure_cluster_user()
        bin_dir = statements_bin_dir() if statements else None
        settings = {"shared_preload_libraries": "'pg_stat_statements'"} if bin_dir else None
        cluster = await asyncio.to_thread(PrivateCluster.create, settings=settings, bin_dir=bin_dir)
        admin = cluster.url()
        where = (
            f"private cluster from {bin_dir or 'pgserver'}'s binaries"
            " (fsync on, max_connections 300" + (", pg_stat_statements" if bin_dir else "") + ")"
        )
    name = f"bench_{label}_{os.getpid()}"
    conn = await asyncpg.connect(admin)
    try:
        version = str(await conn.fetchval("SHOW server_version"))
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = _with_database(admin, name)
    warehouse = build_warehouse(date.today(), products=products)
    db = BenchDatabase(url, name, version, where, warehouse, cluster)
    try:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        db.pool = await asyncpg.create_pool(url, min_size=2, max_size=pool_size)
        if statements:
            db.statements = await _enable_statements(db.pool)
        service = db.service
        await service.import_locations(warehouse.locations_csv())
        await service.import_products(warehouse.products_csv())
        yield db
    finally:
        if db.pool is not None:
            await db.pool.close()
        with contextlib.suppress(Exception):
            conn = await asyncpg.connect(admin)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()
        if cluster is not None:
            await asyncio.to_thread(cluster.destroy)


# -- a scanner on a pty, driven from the loop ---------------------------------------------


class LoopPty:
    """A scanner on a real pseudo-terminal at ``path`` (a symlink to ``/dev/pts/N``).

    :meth:`send` writes one framed scan (non-blocking; one frame always fits in the
    pty buffer) and returns the time its last byte was written; :meth:`scan` also
    waits for the gateway's ack or nak. Feedback is read by ``add_reader`` on the
    master, so no thread is involved; ``answers`` holds each answer's kind and time.
    """

    def __init__(self, path: Path, model: ScannerModel = HONEYWELL) -> None:
        self.path = path
        self.model = model
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.device = os.ttyname(self.slave)
        tmp = path.with_name(f".{path.name}.new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(self.device)
        tmp.replace(path)
        self._parser = FeedbackParser(model.ack, model.nak)
        self._waiters: deque[asyncio.Future[tuple[Feedback, float]]] = deque()
        self.answers: list[tuple[Feedback, float]] = []
        self.sent = 0
        self.acks = 0
        self.naks = 0
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.master, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._loop.remove_reader(self.master)
            return
        now = time.perf_counter()
        self._parser.receive_bytes(data)
        for kind in self._parser.events_received():
            if kind is Feedback.ACK:
                self.acks += 1
            else:
                self.naks += 1
            self.answers.append((kind, now))
            if self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_result((kind, now))

    def send(self, data: bytes) -> float:
        written = os.write(self.master, data)
        if written != len(data):  # pragma: no cover - a frame always fits
            raise RuntimeError(f"{self.path}: pty buffer full")
        self.sent += 1
        return time.perf_counter()

    def frame(self, text: str) -> bytes:
        return self.model.frame(text)

    @property
    def in_flight(self) -> int:
        """Scans sent and not answered yet."""
        return len(self._waiters)

    def submit(self, data: bytes) -> asyncio.Future[tuple[Feedback, float]]:
        """Send without waiting: a future for the (kind, answered at) of this scan.

        Answers come in the order scans were sent (one port, one scan at a time), so
        several may be outstanding (pipelining, an open loop); keep their number
        small enough that the frames fit the pty's buffer (a few KiB).
        """
        waiter: asyncio.Future[tuple[Feedback, float]] = self._loop.create_future()
        self._waiters.append(waiter)
        try:
            self.send(data)
        except BaseException:
            self._waiters.remove(waiter)
            raise
        return waiter

    async def scan(self, data: bytes, timeout: float = 10.0) -> tuple[Feedback, float, float]:  # noqa: ASYNC109
        """Send and wait for the answer: (kind, sent at, answered at)."""
        waiter: asyncio.Future[tuple[Feedback, float]] = self._loop.create_future()
        self._waiters.append(waiter)
        sent_at = self.send(data)
        try:
            kind, answered_at = await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
            raise
        return kind, sent_at, answered_at

    async def answered_scan(self, data: bytes, attempts: int = 20, each: float = 1.0) -> None:
        """Scan until one is answered (frames sent before the port is open are lost)."""
        for _ in range(attempts):
            with contextlib.suppress(TimeoutError):
                await self.scan(data, timeout=each)
                return
        raise TimeoutError(f"{self.path}: no answer to {attempts} scans")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._loop.remove_reader(self.master)
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            if self.path.is_symlink() and os.readlink(self.path) == self.device:
                self.path.unlink()


# -- a light WebSocket display -------------------------------------------------------------

_SEQ = re.compile(rb'^\{"seq":(\d+),"type":"([a-z._]+)"')


@dataclass(eq=False)
class FeedClient(asyncio.Protocol):
    """A floor display speaking just enough RFC 6455 to read the feed cheaply.

    Each text message is stamped on arrival; ``on_message(client, data, t)`` sees it
    (raw bytes). ``seqs`` collects the ``seq`` of every event (not snapshots), parsed
    from the message's first bytes without decoding the JSON.
    """

    token: str
    since: int | None = None
    on_message: Callable[[FeedClient, bytes, float], None] | None = None
    seqs: list[int] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    snapshot_seq: int | None = None
    snapshots: int = 0
    closed_with: int | None = None
    messages: int = 0
    transport: asyncio.Transport | None = None
    _buffer: bytearray = field(default_factory=bytearray)
    _handshaken: bool = False
    _ready: asyncio.Future[None] | None = None
    _snapshot: asyncio.Future[None] | None = None
    _lost: asyncio.Future[None] | None = None

    async def open(self, host: str, port: int, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        self._snapshot = loop.create_future()
        self._lost = loop.create_future()
        await loop.create_connection(lambda: self, host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        assert self.transport is not None
        self.transport.write(
            (
                f"GET /feed HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        await asyncio.wait_for(asyncio.shield(self._ready), timeout)
        hello = {"type": "hello", "token": self.token, "since": self.since}
        self._send_frame(0x1, json.dumps(hello).encode())
        if self.since is None:
            await asyncio.wait_for(asyncio.shield(self._snapshot), timeout)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        for future in (self._ready, self._snapshot, self._lost):
            if future is not None and not future.done():
                future.set_exception(ConnectionError(f"feed closed ({self.closed_with})"))
        if self._lost is not None and self._lost.done() and not self._lost.cancelled():
            self._lost.exception()  # mark retrieved

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header = bytes([0x80 | opcode, 0x80 | n])
        elif n < 65536:
            header = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
        else:
            header = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(header + mask + masked)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        buf = self._buffer
        buf += data
        if not self._handshaken:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[: buf.find(b"\r\n")])
            del buf[: end + 4]
            if b" 101 " not in status:
                if self._ready is not None and not self._ready.done():
                    self._ready.set_exception(ConnectionError(status.decode(errors="replace")))
                return
            self._handshaken = True
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(None)
        pos = 0
        size = len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                head = 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            if size - pos < head + length:
                break
            payload = bytes(buf[pos + head : pos + head + length])
            pos += head + length
            opcode = b0 & 0x0F
            if opcode == 0x1:
                self._message(payload, now)
            elif opcode == 0x9:
                self._send_frame(0xA, payload)
            elif opcode == 0x8:
                self.closed_with = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                if self.transport is not None:
                    self.transport.close()
        del buf[:pos]

    def _message(self, payload: bytes, now: float) -> None:
        self.messages += 1
        found = _SEQ.match(payload)
        if found is not None:
            self.seqs.append(int(found.group(1)))
            self.arrivals.append(now)
        elif payload.startswith(b'{"type":"snapshot"'):
            self.snapshots += 1
            self.snapshot_seq = int(json.loads(payload)["seq"])
            if self._snapshot is not None and not self._snapshot.done():
                self._snapshot.set_result(None)
        if self.on_message is not None:
            self.on_message(self, payload, now)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._send_frame(0x8, (1000).to_bytes(2, "big"))
            self.transport.close()


async def connect_displays(
    url: str, token: str, count: int, *, batch: int = 50, first: FeedClient | None = None
) -> list[FeedClient]:
    """``count`` displays on ``url`` (``http://host:port``), ``batch`` at a time."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    clients: list[FeedClient] = [first] if first is not None else []
    clients += [FeedClient(token) for _ in range(count - len(clients))]
    for start in range(0, len(clients), batch):
        await asyncio.gather(*(c.open(host, int(port)) for c in clients[start : start + batch]))
    return clients


# -- the one-transaction-per-scan ceilings -------------------------------------------------

# The loops write copies of the product's tables (same columns, keys, checks and
# indexes), never ``stock`` or ``movements`` themselves: the ledger must still sum to
# stock for ``stockd verify`` after a benchmark.
_BASELINE_TABLES = (
    "CREATE TABLE IF NOT EXISTS bench_stock (LIKE stock INCLUDING ALL)",
    """CREATE TABLE IF NOT EXISTS bench_ledger
        (LIKE movements INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES
         INCLUDING IDENTITY)""",
)
_SCAN_WORK_TABLES = (
    "CREATE TABLE IF NOT EXISTS bench_idempotency_keys (LIKE idempotency_keys INCLUDING ALL)",
    """CREATE TABLE IF NOT EXISTS bench_scan_ledger
        (LIKE movements INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES
         INCLUDING IDENTITY)""",
    # movements' foreign keys, which LIKE does not copy
    """DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'bench_scan_ledger_key') THEN
            ALTER TABLE bench_scan_ledger
                ADD CONSTRAINT bench_scan_ledger_key FOREIGN KEY (idempotency_key)
                    REFERENCES bench_idempotency_keys,
                ADD CONSTRAINT bench_scan_ledger_product FOREIGN KEY (product_id)
                    REFERENCES products,
                ADD CONSTRAINT bench_scan_ledger_location FOREIGN KEY (location_id)
                    REFERENCES locations;
        END IF;
    END $$""",
    "CREATE TABLE IF NOT EXISTS bench_outbox (LIKE outbox INCLUDING ALL)",
)
_BASELINE_UPDATE = """
UPDATE bench_stock SET on_hand = on_hand + 1, updated_at = now()
WHERE product_id = $1 AND location_id = $2 AND lot = ''
RETURNING on_hand
"""
_BASELINE_INSERT = """
INSERT INTO bench_ledger (kind, product_id, location_id, lot, delta, on_hand_after,
                          idempotency_key, actor, scanner, scan_seq)
VALUES ('receive', $1, $2, '', 1, $3, $4, 'bench', 'bench', $5)
"""
_SCAN_KEY = """
INSERT INTO bench_idempotency_keys (key, fingerprint) VALUES ($1, $2)
ON CONFLICT (key) DO NOTHING RETURNING true
"""
_SCAN_LEDGER = """
INSERT INTO bench_scan_ledger (kind, product_id, location_id, lot, delta, on_hand_after,
                               idempotency_key, actor, scanner, scan_seq)
VALUES ('receive', $1, $2, '', 1, $3, $4, 'bench', 'bench', $5)
RETURNING id, ts
"""
_SCAN_OUTBOX = "INSERT INTO bench_outbox (type, payload) VALUES ('stock.changed', $1::jsonb)"


async def raw_ceiling(
    url: str,
    *,
    concurrency: int = 32,
    seconds: float = 8.0,
    warmup: float = 1.0,
    notify: bool = False,
    work: str = "plain",
) -> dict[str, Any]:
    """Transactions per second of a raw asyncpg loop, ``concurrency`` connections, one
    stock row each, one transaction after another on each connection.

    ``work="plain"``: each transaction UPDATEs one stock row and INSERTs one ledger
    row. ``work="scan"``: the same work as a scan's, statement by statement: INSERT
    its idempotency key (``ON CONFLICT DO NOTHING``), UPDATE the stock row, INSERT
    the ledger row (with movements' foreign keys: to the key, product and
    location), INSERT an outbox row with a ``stock.changed``-sized jsonb payload.
    The tables are copies of ``stock``, ``movements``, ``idempotency_keys`` and
    ``outbox`` with their keys, checks and indexes (``bench_*``), so the product's
    own ledger is left untouched.

    ``notify``: the ledger copy gets a statement-level NOTIFY trigger, as
    ``outbox`` had before migration 0006 (a diagnostic: what a NOTIFY inside every
    writing transaction does to the ceiling; needs ``bench_notify()``).
    """
    if work not in ("plain", "scan"):
        raise ValueError(f"work is 'plain' or 'scan', not {work!r}")
    setup = await asyncpg.connect(url)
    try:
        for ddl in _BASELINE_TABLES + (_SCAN_WORK_TABLES if work == "scan" else ()):
            await setup.execute(ddl)
        await setup.execute("DROP TRIGGER IF EXISTS bench_notify ON bench_ledger")
        if notify:
            await setup.execute(
                "CREATE TRIGGER bench_notify AFTER INSERT ON bench_ledger"
                " FOR EACH STATEMENT EXECUTE FUNCTION bench_notify()"
            )
        location, location_code = await setup.fetchrow(
            "SELECT id, code FROM locations ORDER BY id LIMIT 1"
        )
        rows = await setup.fetch(
            "SELECT id, sku FROM products ORDER BY id DESC LIMIT $1", concurrency
        )
        products = [(r["id"], r["sku"]) for r in rows]
        await setup.executemany(
            "INSERT INTO bench_stock (product_id, location_id, lot, on_hand) VALUES ($1, $2, '', 0)"
            " ON CONFLICT DO NOTHING",
            [(p, location) for p, _ in products],
        )
    finally:
        await setup.close()
    conns = [await asyncpg.connect(url) for _ in range(concurrency)]
    run = os.urandom(4).hex()
    commits: list[float] = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    t0, t1 = start + warmup, start + warmup + seconds
    latencies: list[float] = []

    async def plain(conn: asyncpg.Connection[Any], product: int, key: str, n: int) -> None:
        async with conn.transaction():
            on_hand = await conn.fetchval(_BASELINE_UPDATE, product, location)
            await conn.execute(_BASELINE_INSERT, product, location, on_hand, key, n)

    async def scan(conn: asyncpg.Connection[Any], product: int, sku: str, key: str, n: int) -> None:
        fingerprint = hashlib.sha256(key.encode()).hexdigest()
        async with conn.transaction():
            await conn.fetchval(_SCAN_KEY, key, fingerprint)
            on_hand = await conn.fetchval(_BASELINE_UPDATE, product, location)
            row = await conn.fetchrow(_SCAN_LEDGER, product, location, on_hand, key, n)
            payload = {
                "sku": sku,
                "location": location_code,
                "lot": "",
                "kind": "receive",
                "zone": "",
                "delta": 1,
                "on_hand": on_hand,
                "available": on_hand,
                "product_on_hand": on_hand,
                "product_available": on_hand,
                "movement_id": row["id"],
                "scanner": "bench",
                "scan_seq": n,
                "actor": "bench",
                "movement_ts": row["ts"].isoformat(),
            }
            await conn.execute(_SCAN_OUTBOX, json.dumps(payload))

    async def worker(index: int, conn: asyncpg.Connection[Any]) -> None:
        product, sku = products[index % len(products)]
        n = 0
        while loop.time() < t1:
            n += 1
            began = time.perf_counter()
            key = f"raw:{run}:{index}:{n}"
            if work == "scan":
                await scan(conn, product, sku, key, n)
            else:
                await plain(conn, product, key, n)
            now = loop.time()
            if t0 <= now <= t1:
                commits.append(now)
                latencies.append(time.perf_counter() - began)

    try:
        await asyncio.gather(*(worker(i, c) for i, c in enumerate(conns)))
    finally:
        await asyncio.gather(*(c.close() for c in conns))
    return {
        "work": work,
        "concurrency": concurrency,
        "notify_per_transaction": notify,
        "seconds": seconds,
        "transactions": len(commits),
        "tx_per_s": round(len(commits) / seconds, 1),
        "latency_ms": percentiles(latencies),
    }


# -- pg_stat_statements ----------------------------------------------------------------


def statements_bin_dir() -> Path | None:
    """PostgreSQL binaries whose install ships ``pg_stat_statements`` (pgserver's does
    not): ``BENCH_PG_BIN``, else the newest ``/usr/lib/postgresql/*/bin``; ``None``
    when there are none."""
    candidates = [Path(os.environ["BENCH_PG_BIN"])] if os.environ.get("BENCH_PG_BIN") else []
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for bin_dir in candidates:
        if (bin_dir / "initdb").exists() and (
            bin_dir.parent / "lib" / "pg_stat_statements.so"
        ).exists():
            return bin_dir
    return None


async def _enable_statements(pool: asyncpg.Pool[Any]) -> bool:
    async with pool.acquire() as conn:
        loaded = str(await conn.fetchval("SHOW shared_preload_libraries"))
        if "pg_stat_statements" not in loaded:
            return False
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        except asyncpg.PostgresError:
            return False
    return True


async def statements_reset(db: BenchDatabase) -> None:
    """Forget the statistics so far (no-op without ``pg_stat_statements``)."""
    if db.statements and db.pool is not None:
        await db.pool.execute("SELECT pg_stat_statements_reset()")


async def statements_top(db: BenchDatabase, per: float, limit: int = 8) -> dict[str, Any]:
    """What this database's statements cost since :func:`statements_reset`.

    ``per``: the units of work done meanwhile (scans, transactions): the result has
    the statements (calls) and executor milliseconds per unit, and the busiest
    statements by total executor time with their calls per unit and mean ms.
    Executor time excludes parsing, the client's round trips and the commit's fsync.
    """
    if not db.statements or db.pool is None:
        return {}
    rows = await db.pool.fetch(
        "SELECT query, calls, total_exec_time, mean_exec_time, rows"
        " FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database"
        " WHERE datname = current_database()) AND query NOT LIKE '%pg_stat%'"
        r" AND query !~* '^\s*(create|alter|drop|do|set|show|begin)\M'"
        " ORDER BY total_exec_time DESC"
    )
    total_ms = sum(float(r["total_exec_time"]) for r in rows)
    calls = sum(int(r["calls"]) for r in rows)
    unit = max(per, 1.0)
    return {
        "statements_per_unit": round(calls / unit, 2),
        "exec_ms_per_unit": round(total_ms / unit, 4),
        "top": [
            {
                "query": " ".join(str(r["query"]).split())[:160],
                "calls_per_unit": round(int(r["calls"]) / unit, 3),
                "mean_ms": round(float(r["mean_exec_time"]), 4),
                "share": round(float(r["total_exec_time"]) / max(total_ms, 1e-9), 3),
            }
            for r in rows[:limit]
        ],
    }


async def wait_connected(db: BenchDatabase, ids: Sequence[str], timeout: float = 30.0) -> None:  # noqa: ASYNC109
    """Until every scanner in ``ids`` is ``connected`` in ``scanner_states``."""
    assert db.pool is not None
    deadline = time.monotonic() + timeout
    while True:
        n = await db.pool.fetchval(
            "SELECT count(*) FROM scanner_states WHERE id = ANY($1) AND state = 'connected'",
            list(ids),
        )
        if n == len(ids):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {n} of {len(ids)} scanners connected")
        await asyncio.sleep(0.1)


async def start_profile(
    proc: StockdProcess, out: Path, seconds: float
) -> asyncio.subprocess.Process:
    """``py-spy record`` on a stockd process: collapsed stacks, in ``out``, of the
    samples where a thread held the GIL (where the process's Python time goes).

    py-spy comes from ``PY_SPY`` or ``PATH`` (``pip install py-spy``).
    """
    exe = os.environ.get("PY_SPY") or shutil.which("py-spy") or "py-spy"
    return await asyncio.create_subprocess_exec(
        exe,
        "record",
        "--pid",
        str(proc.pid),
        "--duration",
        str(max(1, int(seconds))),
        "--rate",
        "250",
        "--format",
        "raw",
        "--nonblocking",
        "--threads",
        "--gil",
        "-o",
        str(out),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


def top_frames(path: Path, limit: int = 25) -> list[tuple[str, float]]:
    """Self and inclusive shares of the busiest functions in a py-spy raw profile."""
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        for frame in set(stack.split(";")):
            inclusive[frame] = inclusive.get(frame, 0) + n
    ranked = sorted(inclusive.items(), key=lambda kv: -kv[1])[:limit]
    return [(frame, round(n / max(total, 1), 3)) for frame, n in ranked]


_PROJECT_FRAME = re.compile(r"\((?:scanner_gateway|stock_core|web_ui|stockd)/")
_ENTRY_FRAME = re.compile(r"\(stockd/(?:cli|__main__)\.py")


def profile_summary(path: Path, limit: int = 8) -> dict[str, Any]:
    """Where a py-spy raw profile's GIL-holding samples went: the busiest leaf
    functions (self time, any code) and the busiest of the project's own functions
    (inclusive, below the process's entry point), as shares of all samples."""
    own: dict[str, int] = {}
    project: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        frames = stack.split(";")
        leaf = frames[-1]
        own[leaf] = own.get(leaf, 0) + n
        for frame in set(frames):
            if _PROJECT_FRAME.search(frame) and not _ENTRY_FRAME.search(frame):
                project[frame] = project.get(frame, 0) + n

    def ranked(counts: dict[str, int]) -> list[tuple[str, float]]:
        best = sorted(counts.items(), key=lambda kv: -kv[1])[:limit]
        return [(frame, round(n / max(total, 1), 3)) for frame, n in best]

    return {"samples": total, "self": ranked(own), "project_inclusive": ranked(project)}


class WaitSampler:
    """What the database's backends are doing, sampled every ``interval`` s.

    Counts ``state/wait_event_type:wait_event`` over the benchmark database's
    backends (``active`` with no wait = on CPU; ``idle in transaction`` +
    ``Client:ClientRead`` = waiting for the client's next statement; ``Lock:object``
    on a commit = NOTIFY's commit serialisation).
    """

    def __init__(self, db: BenchDatabase, interval: float = 0.1) -> None:
        self.db = db
        self.interval = interval
        self.counts: dict[str, int] = {}
        self.samples = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        conn = await asyncpg.connect(self.db.url)
        try:
            while True:
                rows = await conn.fetch(
                    "SELECT state, coalesce(wait_event_type || ':' || wait_event, 'cpu') AS w,"
                    " count(*) AS n FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                    " AND state <> 'idle' GROUP BY 1, 2"
                )
                self.samples += 1
                for r in rows:
                    key = f"{r['state']}/{r['w']}"
                    self.counts[key] = self.counts.get(key, 0) + int(r["n"])
                await asyncio.sleep(self.interval)
        finally:
            await conn.close()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> dict[str, float]:
        """Average number of backends in each state/wait, busiest first."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        n = max(self.samples, 1)
        ranked = sorted(self.counts.items(), key=lambda kv: -kv[1])
        return {k: round(v / n, 2) for k, v in ranked[:8]}


async def forecaster_settled(proc: StockdProcess, timeout: float = 60.0) -> float:  # noqa: ASYNC109
    """Wait for a web/serve node's start-up forecast sweep to finish; its seconds.

    The sweep runs in a child process, but its many short transactions hold back the
    feed sequencer's xmin, so events published meanwhile can wait for the relay's
    0.25 s poll (measured: scan-to-screen p99 ~250 ms during the sweep, ~15 ms
    after). Benchmarks measure the steady state after it; the report says so.
    """
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if "forecaster:" in proc.tail(200_000):
            break
        await asyncio.sleep(0.2)
    return round(time.monotonic() - began, 1)


def postmaster_pid(db: BenchDatabase) -> int | None:
    if db.cluster is None:
        return None
    with contextlib.suppress(OSError, ValueError):
        return int((db.cluster.data / "postmaster.pid").read_text().split()[0])
    return None
