"""The serial shell: line time (pure), which ports are read on the loop, and a real link
on a pty (read on the loop) and on ``loop://`` (read by a thread): pausing, resuming,
and feedback written in order when the OS buffer is full."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import tty
from collections.abc import AsyncIterator
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import pytest
import serial

from hardware_mocks.frames import HONEYWELL
from hardware_mocks.pty_scanner import PtyScanner
from scanner_gateway.config import ScannerConfig
from scanner_gateway.serial_link import LineClock
from scanner_gateway.serial_link import LinkState
from scanner_gateway.serial_link import SerialLink
from scanner_gateway.serial_link import _descriptor
from tests.gateway_harness import eventually
from tests.timing import UNIT

# -- LineClock (pure) -----------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_line_time_follows_the_clock_while_reading() -> None:
    clock = FakeClock()
    line = LineClock(clock)
    start = line.now()
    clock.t += 2.5
    assert line.now() == start + 2.5
    assert not line.paused


def test_line_time_stands_still_while_paused_and_goes_on_from_there() -> None:
    clock = FakeClock()
    line = LineClock(clock)
    clock.t += 1
    before = line.now()
    line.pause()
    clock.t += 30
    assert line.paused
    assert line.now() == before
    line.resume()
    assert line.now() == before
    clock.t += 0.25
    assert line.now() == before + 0.25


def test_pausing_and_resuming_twice_changes_nothing() -> None:
    clock = FakeClock()
    line = LineClock(clock)
    line.pause()
    clock.t += 5
    line.pause()  # not a new pause: still counted from the first
    clock.t += 5
    line.resume()
    line.resume()
    clock.t += 1
    assert line.now() == 101.0
    assert not line.paused


# -- which ports are read on the loop -------------------------------------------------


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, str]]:
    """A raw pty: (master descriptor, slave path). The slave is closed at once: the
    code under test opens it, as it opens ``/dev/ttyUSB0``."""
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    os.close(slave)
    os.set_blocking(master, False)
    try:
        yield master, path
    finally:
        os.close(master)


def test_a_device_path_is_read_through_its_descriptor(pty_pair: tuple[int, str]) -> None:
    port = serial.serial_for_url(pty_pair[1], timeout=0)
    try:
        assert _descriptor(port) == port.fileno()
    finally:
        port.close()


def test_a_socket_device_server_is_read_through_its_descriptor() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = serial.serial_for_url(f"socket://127.0.0.1:{server.getsockname()[1]}")
        try:
            assert _descriptor(port) == port.fileno()
        finally:
            port.close()


def test_ports_only_pyserial_can_read_get_no_descriptor(pty_pair: tuple[int, str]) -> None:
    loop_port = serial.serial_for_url("loop://")
    spy_port = serial.serial_for_url(f"spy://{pty_pair[1]}")
    try:
        assert _descriptor(loop_port) is None
        assert _descriptor(spy_port) is None  # its read() logs what it reads
    finally:
        loop_port.close()
        spy_port.close()


# -- a real link ------------------------------------------------------------------------


@dataclass
class Recorder:
    chunks: list[bytes] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    states: list[LinkState] = field(default_factory=list)

    def on_bytes(self, data: bytes, now: float) -> None:
        self.chunks.append(data)
        self.times.append(now)

    def on_state(self, state: LinkState, _detail: str) -> None:
        self.states.append(state)

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


@contextlib.asynccontextmanager
async def running_link(url: str) -> AsyncIterator[tuple[SerialLink, Recorder]]:
    recorder = Recorder()
    with ThreadPoolExecutor(2) as executor:
        link = SerialLink(
            ScannerConfig(id="unit", url=url),
            on_bytes=recorder.on_bytes,
            on_state=recorder.on_state,
            executor=executor,
        )
        running = asyncio.create_task(link.run())
        try:
            await eventually(lambda: link.state is LinkState.CONNECTED, 5 * UNIT, "connected")
            yield link, recorder
        finally:
            link.stop()
            await running
    assert recorder.states[-1] is LinkState.STOPPED


def _read_all(master: int) -> bytes:
    out = bytearray()
    with contextlib.suppress(BlockingIOError):
        while chunk := os.read(master, 65536):
            out += chunk
    return bytes(out)


def _write_some(master: int, data: bytes) -> int:
    """Write to the master side until the pty takes no more; the bytes it took."""
    view = memoryview(data)
    with contextlib.suppress(BlockingIOError):
        while view:
            view = view[os.write(master, view[:4096]) :]
    return len(data) - len(view)


async def test_a_paused_pty_link_reads_nothing_and_on_resume_reads_every_byte_in_order(
    pty_pair: tuple[int, str],
) -> None:
    master, path = pty_pair
    stream = bytes(n % 251 for n in range(40_000))
    async with running_link(path) as (link, recorder):
        assert link.on_loop
        link.pause_reading()
        sent = _write_some(master, stream)
        await asyncio.sleep(0.2 * UNIT)
        assert recorder.chunks == []  # the bytes wait in the pty
        link.resume_reading()
        await eventually(lambda: len(recorder.data) == sent, 5 * UNIT, "first part read")
        sent += await asyncio.to_thread(_write_some, master, stream[sent:])
        await eventually(lambda: len(recorder.data) == sent, 5 * UNIT, "all read")
    assert recorder.data == stream[:sent]
    assert sent > 8192
    assert max(map(len, recorder.chunks)) <= 4096  # one bounded read per callback


async def test_line_time_passed_with_the_bytes_leaves_out_the_pause(
    pty_pair: tuple[int, str],
) -> None:
    master, path = pty_pair
    async with running_link(path) as (link, recorder):
        os.write(master, b"A")
        await eventually(lambda: recorder.chunks, 5 * UNIT, "first byte")
        link.pause_reading()
        os.write(master, b"B")
        await asyncio.sleep(0.3 * UNIT)
        link.resume_reading()
        await eventually(lambda: len(recorder.chunks) == 2, 5 * UNIT, "second byte")
    assert recorder.data == b"AB"
    assert recorder.times[1] - recorder.times[0] < 0.2 * UNIT


async def test_a_link_paused_while_reconnecting_opens_the_port_without_reading_it(
    tmp_path: Path,
) -> None:
    scanner = await PtyScanner.create(tmp_path / "usb", HONEYWELL)
    try:
        async with running_link(str(scanner.path)) as (link, recorder):
            await scanner.aunplug()
            await eventually(lambda: link.state is LinkState.RECONNECTING, 5 * UNIT, "gone")
            link.pause_reading()  # scans from before the unplug still wait to be served
            await scanner.areplug()
            await eventually(lambda: link.state is LinkState.CONNECTED, 5 * UNIT, "back")
            scanner.send_raw(b"X")
            await asyncio.sleep(0.2 * UNIT)
            assert recorder.chunks == []
            link.resume_reading()
            await eventually(lambda: recorder.data == b"X", 5 * UNIT, "read after resume")
    finally:
        await scanner.aclose()


async def test_feedback_waits_for_a_full_pty_and_goes_out_in_order(
    pty_pair: tuple[int, str],
) -> None:
    master, path = pty_pair
    chunks = [bytes([65 + n % 26]) * 512 for n in range(400)]
    async with running_link(path) as (link, _):
        written: list[bytes] = []
        for chunk in chunks:  # nobody reads the master: the pty fills up
            started = time.monotonic()
            ok = await link.write(chunk)
            written.append(chunk)
            if not ok:  # timed out waiting; the bytes are kept and go out later
                assert time.monotonic() - started >= 0.9
                break
        else:
            pytest.fail("the pty never filled up")
        # past the kept backlog, more feedback is refused at once, not queued
        started = time.monotonic()
        assert not await link.write(b"Z" * 4096)
        assert time.monotonic() - started < 0.5 * UNIT
        received = bytearray(_read_all(master))
        # once the scanner reads again, every kept byte follows, and new writes too
        assert await link.write(b"after")

        def drained() -> bool:
            received.extend(_read_all(master))
            return received.endswith(b"after")

        await eventually(drained, 5 * UNIT, "feedback drained")
    assert bytes(received) == b"".join(written) + b"after"


async def test_a_loop_url_is_read_by_a_thread_that_pauses_too() -> None:
    async with running_link("loop://") as (link, recorder):
        assert not link.on_loop
        assert await link.write(b"one")  # loop:// reads back what was written
        await eventually(lambda: recorder.data == b"one", 5 * UNIT, "echo")
        link.pause_reading()
        await asyncio.sleep(0.1 * UNIT)  # a read already under way may still land
        settled = len(recorder.chunks)
        assert await link.write(b"two")
        await asyncio.sleep(0.2 * UNIT)
        assert len(recorder.chunks) == settled
        link.resume_reading()
        await eventually(lambda: recorder.data == b"onetwo", 5 * UNIT, "after resume")


async def test_writes_to_a_closed_link_report_false(tmp_path: Path) -> None:
    recorder = Recorder()
    with ThreadPoolExecutor(1) as executor:
        link = SerialLink(
            ScannerConfig(id="unit", url=str(tmp_path / "absent")),
            on_bytes=recorder.on_bytes,
            on_state=recorder.on_state,
            executor=executor,
        )
        assert not await link.write(b"x")
