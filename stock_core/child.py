"""Run a function in a fresh Python process that is killed when its caller is cancelled.

``concurrent.futures.ProcessPoolExecutor`` cannot stop a call once it runs: leaving its
``with`` block (a cancelled caller, a server shutting down) waits for the child on the
event loop's thread, so a web node told to stop in the middle of a forecast sweep
stayed up until the sweep ended. Here the child is an ``asyncio`` subprocess: a
cancellation kills it and the caller's task ends at once.

The function and its arguments go to the child pickled on its stdin and the result (or
the exception) comes back pickled on its stdout: both ends are this program, so the
pickles are trusted. The function must be importable by name (module level).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import sys
from collections.abc import Callable
from typing import Any
from typing import TypeVar

__all__ = ["ChildDiedError", "call_in_child"]

_R = TypeVar("_R")


class ChildDiedError(RuntimeError):
    """The child process died without an answer (killed, out of memory, crashed)."""


async def call_in_child(
    func: Callable[..., _R], *args: Any, env: dict[str, str] | None = None
) -> _R:
    """``func(*args)`` in a new process with ``env`` added to this one's environment."""
    child_env = {**os.environ, **(env or {})}
    # The child finds this program's modules where this process found them.
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        __name__,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_env,
    )
    try:
        out, err = await process.communicate(pickle.dumps((func, args)))
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        with contextlib.suppress(BaseException):
            await process.wait()
        raise
    if process.returncode != 0 or not out:
        tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise ChildDiedError(
            f"{getattr(func, '__qualname__', func)} in a child process ended with "
            f"status {process.returncode}: {tail[0]}"
        )
    ok, value = pickle.loads(out)
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


def _main() -> None:
    func, args = pickle.loads(sys.stdin.buffer.read())
    try:
        answer = pickle.dumps((True, func(*args)))
    except Exception as exc:
        try:
            answer = pickle.dumps((False, exc))
        except Exception:  # an exception that does not pickle: its text does
            answer = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
    sys.stdout.buffer.write(answer)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    _main()
