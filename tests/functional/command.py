"""The real ``stockd`` console script in a subprocess, as a user runs it.

:func:`stockd` runs a command to its end; :func:`running` starts a long-running one
(``serve``, ``web``, ``gateway``, ``demo``), waits for the line that says it is up and
stops it with SIGINT when the block ends. Neither passes on ``STOCKD_*`` or
``DATABASE_URL`` from the test's environment: only what the test gives.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from tests.timing import UNIT

__all__ = [
    "COMMAND",
    "Run",
    "Running",
    "communicate_within",
    "embedded_servers",
    "environment",
    "running",
    "stockd",
]

_SCRIPT = Path(sys.executable).with_name("stockd")
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "stockd"]


@dataclass(frozen=True)
class Run:
    """A finished ``stockd`` command: its exit status, its output and how long it took."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float = 0.0

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.strip().splitlines()


def environment(home: Path, url: str | None, env: dict[str, str] | None = None) -> dict[str, str]:
    """The test's environment without ``STOCKD_*``/``DATABASE_URL``, plus these."""
    found = {
        k: v for k, v in os.environ.items() if not k.startswith("STOCKD_") and k != "DATABASE_URL"
    }
    found["STOCKD_HOME"] = str(home)
    if url is not None:
        found["DATABASE_URL"] = url
    found.update(env or {})
    return found


async def communicate_within(
    process: asyncio.subprocess.Process, within: float
) -> tuple[bytes, bytes]:
    """``process.communicate()``, the process killed if that takes longer than ``within``
    seconds (times ``UNIT``) or is cancelled: it is never left running."""
    try:
        return await asyncio.wait_for(process.communicate(), within * UNIT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def stockd(
    *args: str | Path,
    home: Path,
    url: str | None,
    env: dict[str, str] | None = None,
    within: float = 60.0,
    cwd: Path | None = None,
) -> Run:
    """Run ``stockd ARGS`` in ``cwd`` (default ``home``) to its end (killed after
    ``within`` seconds)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        *map(str, args),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment(home, url, env),
        cwd=cwd or home,
    )
    stdout, stderr = await communicate_within(process, within)
    assert process.returncode is not None
    return Run(process.returncode, stdout.decode(), stderr.decode(), loop.time() - started)


@dataclass
class Running:
    """A long-running ``stockd`` command that said it is up."""

    process: asyncio.subprocess.Process
    stdout: list[str] = field(default_factory=list)
    stderr: bytes = b""
    returncode: int | None = None

    def find(self, pattern: str) -> re.Match[str]:
        found = re.search(pattern, "".join(self.stdout))
        assert found is not None, f"{pattern!r} not in {self.stdout!r}"
        return found


@contextlib.asynccontextmanager
async def running(
    *args: str | Path,
    home: Path,
    url: str | None,
    ready: str,
    env: dict[str, str] | None = None,
    within: float = 60.0,
) -> AsyncIterator[Running]:
    """Start ``stockd ARGS``; yield once a line of its output matches ``ready``.

    At the end of the block it gets SIGINT (Ctrl-C) and must exit by itself; its exit
    status and standard error are then on the :class:`Running`.
    """
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        *map(str, args),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment(home, url, env),
        cwd=home,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    errors = asyncio.create_task(process.stderr.read())
    run = Running(process)
    try:
        async with asyncio.timeout(within * UNIT):
            while not re.search(ready, run.stdout[-1] if run.stdout else ""):
                line = await process.stdout.readline()
                if not line:
                    await process.wait()
                    raise AssertionError(
                        f"stockd {' '.join(map(str, args))} exited with {process.returncode} "
                        f"before {ready!r}: {(await errors).decode()[-3000:]}"
                    )
                run.stdout.append(line.decode())
        yield run
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(30 * UNIT):
            rest = await process.stdout.read()
            run.stdout.append(rest.decode())
            run.returncode = await process.wait()
            run.stderr = await errors
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        errors.cancel()


def embedded_servers(home: Path) -> list[str]:
    """PostgreSQL server processes whose data lies under ``home`` (an embedded server)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            parts = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:  # it exited meanwhile
            continue
        if parts and Path(parts[0]).name == "postgres" and any(str(home) in p for p in parts):
            found.append(" ".join(parts).strip())
    return found
