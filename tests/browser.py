"""Headless Chromium driven over the Chrome DevTools Protocol, for browser tests.

No browser download and no driver: Debian's ``chromium`` is started with
``--remote-debugging-port=0``, the port it picked is read from ``DevToolsActivePort``
in its profile directory, and CDP commands go over the ``websockets`` client already
used by the feed tests. One browser-level connection; each page is a flat session
(``Target.attachToTarget(flatten=True)``), so commands carry a ``sessionId``.

Usage::

    async with Browser.launch() as browser:
        page = await browser.new_page()
        await page.navigate("http://127.0.0.1:8080/")
        await page.wait_for("document.title === 'stockd'")
        await page.screenshot(Path("shot.png"))

Everything is closed on exit: the socket, the reader task, the process (asked to
close, then killed with its process group) and the temporary profile.

A browser suite marks itself ``pytestmark = needs_chromium``: without Chromium it is
skipped on a developer's machine, but in CI (``CI=true``) it runs and fails, so a
missing browser can never pass a build by skipping every browser test.
``STOCKD_TEST_CHROMIUM`` names another executable.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from tests.ci import in_ci
from tests.timing import UNIT

__all__ = ["CHROMIUM", "Browser", "BrowserError", "Page", "in_ci", "needs_chromium"]

CHROMIUM = Path(os.environ.get("STOCKD_TEST_CHROMIUM", "/usr/bin/chromium"))
_INSTALL = "run scripts/ensure-test-tools to install Debian's chromium"


needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and not in_ci(),
    reason=f"{CHROMIUM} is missing: {_INSTALL} (in CI, with CI=true, this fails instead)",
)
"""Skip a browser test where Chromium is missing, except in CI, where
:meth:`Browser.launch` then fails the test with :class:`BrowserError`."""

_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-port=0",
)

_POLL = 0.05


class BrowserError(RuntimeError):
    """The browser failed to start, or a CDP command returned an error."""


class Browser:
    """One Chromium process and its browser-level CDP connection."""

    def __init__(
        self, process: asyncio.subprocess.Process, ws: ClientConnection, profile: Path
    ) -> None:
        self.process = process
        self.ws = ws
        self.profile = profile
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._pages: dict[str, Page] = {}
        self._reader = asyncio.create_task(self._read(), name="cdp-reader")

    @classmethod
    @contextlib.asynccontextmanager
    async def launch(
        cls,
        executable: Path = CHROMIUM,
        *,
        width: int = 1920,
        height: int = 1080,
        flags: Sequence[str] = (),
    ) -> AsyncIterator[Browser]:
        """``flags`` are added to the usual ones (e.g. a fake camera)."""
        if not await asyncio.to_thread(executable.exists):
            where = "CI=true: browser tests fail rather than skip" if in_ci() else _INSTALL
            raise BrowserError(f"{executable} is missing ({where})")
        profile = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="stockd-chromium-"))
        log = await asyncio.to_thread(open, profile / "chromium.log", "wb")
        process: asyncio.subprocess.Process | None = None
        browser: Browser | None = None
        try:
            process = await asyncio.create_subprocess_exec(
                str(executable),
                *_FLAGS,
                *flags,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # its own process group, killed as one if need be
            )
            url = await _devtools_url(process, profile)
            ws = await websockets.connect(url, max_size=None, ping_interval=None)
            browser = cls(process, ws, profile)
            yield browser
        finally:
            if browser is not None:
                await browser._close()
            if process is not None:
                await _stop(process)
            await asyncio.to_thread(log.close)
            await asyncio.to_thread(shutil.rmtree, profile, True)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                if "id" in message:
                    future = self._pending.pop(message["id"], None)
                    if future is not None and not future.done():
                        future.set_result(message)
                    continue
                page = self._pages.get(message.get("sessionId", ""))
                if page is not None:
                    page._event(message["method"], message.get("params", {}))
        except websockets.ConnectionClosed:
            pass
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(BrowserError("the browser connection closed"))
            self._pending.clear()

    async def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str | None = None,
        within: float = 30.0,
    ) -> dict[str, Any]:
        """One CDP command; its ``result``, or :class:`BrowserError`."""
        command_id = next(self._ids)
        message: dict[str, Any] = {"id": command_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = future
        await self.ws.send(json.dumps(message))
        try:
            async with asyncio.timeout(within * UNIT):
                reply = await future
        finally:
            self._pending.pop(command_id, None)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error'].get('message', reply['error'])}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    async def new_page(self, *, width: int = 1920, height: int = 1080) -> Page:
        """A fresh tab of ``width`` x ``height`` CSS pixels, with its events enabled."""
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        page = Page(self, attached["sessionId"])
        self._pages[page.session] = page
        await page.send("Page.enable")
        await page.send("Runtime.enable")
        await page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        return page

    async def _close(self) -> None:
        with contextlib.suppress(BrowserError, TimeoutError, websockets.ConnectionClosed):
            await self.send("Browser.close", within=5.0)
        await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


class Page:
    """One tab: navigate, evaluate JavaScript, wait for a condition, take a screenshot."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session
        self.console: list[str] = []
        self.errors: list[str] = []
        self._loaded = asyncio.Event()

    def _event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Page.loadEventFired":
            self._loaded.set()
        elif method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            self.console.append(f"{params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            exception = details.get("exception", {})
            self.errors.append(str(exception.get("description", details.get("text"))))

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.browser.send(method, params, session=self.session)

    async def navigate(self, url: str, within: float = 20.0) -> None:
        """Open ``url`` and wait for its load event."""
        self._loaded.clear()
        result = await self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise BrowserError(f"navigating to {url}: {result['errorText']}")
        async with asyncio.timeout(within * UNIT):
            await self._loaded.wait()

    async def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression (promises are awaited)."""
        result = await self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            description = details.get("exception", {}).get("description", details.get("text"))
            raise BrowserError(f"{expression!r} threw {description}")
        return result["result"].get("value")

    async def wait_for(
        self, expression: str, within: float = 10.0, what: str = "", show: str | None = None
    ) -> Any:
        """Poll ``expression`` until it is truthy; its value, or AssertionError on timeout.

        On timeout the message names ``what`` and, if given, the value of the JavaScript
        expression ``show`` at that moment (what the page showed instead).
        """
        deadline = asyncio.get_running_loop().time() + within * UNIT
        value: Any = None
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                shown = "" if show is None else f"; the page shows {await self.evaluate(show)!r}"
                raise AssertionError(
                    f"timed out waiting for {what or expression} (last value {value!r}{shown}); "
                    f"page errors: {self.errors}; console: {self.console[-10:]}"
                )
            await asyncio.sleep(_POLL)

    async def screenshot(self, path: Path) -> bytes:
        """Save a PNG of the viewport to ``path``; returns its bytes."""
        result = await self.send("Page.captureScreenshot", {"format": "png"})
        data = base64.b64decode(result["data"])
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(path.write_bytes, data)
        return data


async def _devtools_url(process: asyncio.subprocess.Process, profile: Path) -> str:
    """The browser's CDP WebSocket URL, from ``DevToolsActivePort`` once it is written."""
    port_file = profile / "DevToolsActivePort"
    deadline = asyncio.get_running_loop().time() + 30 * UNIT
    while True:
        text = await asyncio.to_thread(_read_text, port_file)
        lines = text.splitlines() if text else []
        if len(lines) >= 2:
            return f"ws://127.0.0.1:{lines[0].strip()}{lines[1].strip()}"
        if process.returncode is not None:
            log = await asyncio.to_thread(_read_text, profile / "chromium.log")
            raise BrowserError(f"chromium exited with {process.returncode}: {log[-2000:]}")
        if asyncio.get_running_loop().time() > deadline:
            raise BrowserError("chromium did not open its DevTools port in time")
        await asyncio.sleep(_POLL)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


async def _stop(process: asyncio.subprocess.Process) -> None:
    """Wait for the browser to exit; kill its process group if it does not."""
    try:
        async with asyncio.timeout(10 * UNIT):
            await process.wait()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
