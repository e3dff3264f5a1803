"""The simulated scanners, seen through real pyserial as the gateway sees them."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from hardware_mocks.device_server import DeviceServer
from hardware_mocks.errors import NotConnectedError
from hardware_mocks.errors import WriteTimeoutError
from hardware_mocks.feedback import Feedback
from hardware_mocks.feedback import FeedbackCounts
from hardware_mocks.frames import DATALOGIC
from hardware_mocks.frames import GENERIC_BEL
from hardware_mocks.frames import HONEYWELL
from hardware_mocks.frames import ScannerModel
from hardware_mocks.frames import gs1_element_string
from hardware_mocks.load import SAMPLE_CATALOG
from hardware_mocks.load import LoadPlan
from hardware_mocks.load import run_load
from hardware_mocks.pty_scanner import PtyScanner
from hardware_mocks.script import parse_script
from hardware_mocks.script import run_script
from hardware_mocks.target import send_split
from stock_core.domain.gtin import is_valid_gtin
from tests.timing import UNIT

TIMEOUT = 2 * UNIT
"""The bound on every wait in this module; waits end early when they can."""

EAN = "5012345678900"
GS1 = gs1_element_string([("01", "15012345678907"), ("10", "LOT42"), ("17", "261231")])


def _open(url: str | Path, timeout: float = TIMEOUT) -> serial.Serial:
    return serial.serial_for_url(str(url), timeout=timeout)


def _read_frame(port: serial.SerialBase, terminator: bytes) -> bytes:
    data = port.read_until(terminator)
    assert data.endswith(terminator), f"no complete frame before the timeout: {data!r}"
    return data


class _StandInGateway:
    """Just enough gateway: reads frames, answers the model's ack or nak as ``judge``
    says, and reopens the port after a hang-up, like the real one with no backoff."""

    def __init__(self, url: str, model: ScannerModel, judge: Callable[[str], bool]) -> None:
        self._url = url
        self._model = model
        self._judge = judge
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"stand-in:{url}", daemon=True)
        self.frames: list[str] = []
        self.opens = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(TIMEOUT)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                port = _open(self._url, timeout=0.02)
            except serial.SerialException:
                self._stop.wait(0.02)
                continue
            self.opens += 1
            try:
                self._serve(port)
            except (serial.SerialException, OSError):
                pass
            finally:
                port.close()

    def _serve(self, port: serial.Serial) -> None:
        terminator = self._model.terminator
        buffer = b""
        while not self._stop.is_set():
            buffer += port.read(max(1, port.in_waiting))
            while terminator in buffer:
                raw, _, buffer = buffer.partition(terminator)
                text = raw.decode("latin-1")
                if text.startswith("]"):
                    text = text[3:]
                self.frames.append(text)
                answer = self._model.ack if self._judge(text) else self._model.nak
                if answer:
                    port.write(answer)


def _wait_until_opened(gateway: _StandInGateway, opens: int) -> None:
    """Block until the stand-in has opened its port ``opens`` times."""
    for _ in range(int(TIMEOUT / 0.01)):
        if gateway.opens >= opens:
            return
        threading.Event().wait(0.01)
    raise AssertionError("the stand-in gateway never opened its port")


StandInFactory = Callable[[str, ScannerModel, Callable[[str], bool]], _StandInGateway]


@pytest.fixture
def stand_in() -> Iterator[StandInFactory]:
    started: list[_StandInGateway] = []

    def start(url: str, model: ScannerModel, judge: Callable[[str], bool]) -> _StandInGateway:
        gateway = _StandInGateway(url, model, judge)
        gateway.start()
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()


def _good_unless_bad(text: str) -> bool:
    return "BAD" not in text


# -- PtyScanner, sync ---------------------------------------------------------------


def test_pty_scanner_frames_reach_pyserial_at_the_stable_path(tmp_path: Path) -> None:
    path = tmp_path / "dock-1"
    with PtyScanner(path, HONEYWELL) as scanner:
        assert path.is_symlink()
        assert str(path.resolve()) == scanner.device
        with contextlib.closing(_open(path)) as port:
            assert scanner.send_scan(EAN) == b"]E0" + EAN.encode() + b"\r\n"
            scanner.send_scan(GS1)
            scanner.send_scan("LOC:A-01", aim=False, terminator=b"\r")
            assert _read_frame(port, b"\r\n") == b"]E05012345678900\r\n"
            assert _read_frame(port, b"\r\n") == b"]C1" + GS1.encode() + b"\r\n"
            assert _read_frame(port, b"\r") == b"LOC:A-01\r"
    assert not path.exists()


def test_pty_scanner_counts_the_feedback_the_gateway_writes(tmp_path: Path) -> None:
    with (
        PtyScanner(tmp_path / "s", HONEYWELL) as scanner,
        contextlib.closing(_open(tmp_path / "s")) as port,
    ):
        port.write(b"\x1b7,\x1b8,")
        port.write(b"\x1b")
        port.write(b"7,")
        assert scanner.wait_feedback_blocking(3, TIMEOUT) == FeedbackCounts(acks=2, naks=1)
        assert (scanner.acks, scanner.naks) == (2, 1)
        assert scanner.read_feedback() == b"\x1b7,\x1b8,\x1b7,"
        assert scanner.read_feedback(0.01) == b""
        with pytest.raises(TimeoutError, match="expected 4 acks"):
            scanner.wait_feedback_blocking(4, 0.01)


def test_pty_scanner_line_is_raw_every_byte_passes_unchanged(tmp_path: Path) -> None:
    everything = bytes(range(256))
    with PtyScanner(tmp_path / "s") as scanner, contextlib.closing(_open(tmp_path / "s")) as port:
        scanner.send_raw(everything)
        assert port.read(256) == everything
        port.write(b"\r\n\x11\x13")
        assert scanner.read_feedback(TIMEOUT) == b"\r\n\x11\x13"
        assert len(port.read(len(scanner.send_noise(40)))) == 40


def test_pty_scanner_split_crlf_arrives_in_two_parts(tmp_path: Path) -> None:
    with PtyScanner(tmp_path / "s") as scanner, contextlib.closing(_open(tmp_path / "s")) as port:
        sender = threading.Thread(
            target=scanner.send_split, args=("LOC:A", -1), kwargs={"pause": 0.3}
        )
        sender.start()
        try:
            assert port.read(len("]C0LOC:A\r")) == b"]C0LOC:A\r"
            assert port.in_waiting == 0
            assert port.read(1) == b"\n"
        finally:
            sender.join()


def test_pty_scanner_unplug_hangs_up_and_replug_restores_the_path(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with PtyScanner(path, GENERIC_BEL) as scanner:
        port = _open(path)
        try:
            scanner.unplug()
            assert not scanner.plugged
            assert scanner.device is None
            assert not path.exists()
            with pytest.raises(serial.SerialException):
                port.read(1)
        finally:
            port.close()
        with pytest.raises(serial.SerialException):
            _open(path)
        with pytest.raises(NotConnectedError, match="unplugged"):
            scanner.send_scan(EAN)
        scanner.unplug()  # idempotent

        scanner.replug()
        with contextlib.closing(_open(path)) as port:
            scanner.send_scan(EAN)
            assert _read_frame(port, b"\n") == b"5012345678900\n"
            port.write(b"\x07")
            assert scanner.wait_feedback_blocking(1, TIMEOUT).naks == 1
            scanner.replug()  # a power cycle while plugged
            with pytest.raises(serial.SerialException):
                port.read(1)
    with pytest.raises(NotConnectedError, match="closed"):
        scanner.replug()


def test_pty_scanner_write_times_out_when_nobody_reads(tmp_path: Path) -> None:
    with (
        PtyScanner(tmp_path / "s", write_timeout=0.05) as scanner,
        pytest.raises(WriteTimeoutError, match="is anything reading"),
    ):
        scanner.send_raw(b"x" * 1_000_000)


# -- PtyScanner, async --------------------------------------------------------------


async def test_pty_scanner_works_from_async_code(tmp_path: Path) -> None:
    path = tmp_path / "s"
    async with await PtyScanner.create(path, DATALOGIC) as scanner:
        port = await asyncio.to_thread(_open, path)
        try:
            expected = scanner.send_scan(EAN)
            assert await asyncio.to_thread(_read_frame, port, b"\r") == expected
            waiting = asyncio.create_task(scanner.wait_feedback(2, TIMEOUT))
            await asyncio.to_thread(port.write, b"\x06\x15")
            assert await waiting == FeedbackCounts(acks=1, naks=1)
            assert await scanner.read_feedback_async(TIMEOUT) == b"\x06\x15"
            assert await scanner.read_feedback_async(0.01) == b""
            with pytest.raises(TimeoutError, match="expected 3 acks"):
                await scanner.wait_feedback(3, 0.01)
            await scanner.aunplug()
            assert not await asyncio.to_thread(path.exists)
        finally:
            await asyncio.to_thread(port.close)
        await scanner.areplug()
        assert await asyncio.to_thread(path.is_symlink)
    assert not await asyncio.to_thread(path.exists)


async def test_send_split_works_on_either_target_from_async_code(tmp_path: Path) -> None:
    async with await PtyScanner.create(tmp_path / "s", HONEYWELL) as scanner:
        port = await asyncio.to_thread(_open, tmp_path / "s")
        try:
            data = scanner.model.frame("LOC:A")
            await send_split(scanner, data, -1, 0.01 * UNIT)
            assert await asyncio.to_thread(_read_frame, port, b"\r\n") == data
        finally:
            await asyncio.to_thread(port.close)


# -- DeviceServer -------------------------------------------------------------------


async def test_device_server_serves_a_pyserial_socket_url() -> None:
    async with DeviceServer(model=DATALOGIC) as server:
        assert server.url == f"socket://127.0.0.1:{server.port}"
        assert server.port > 0
        port = await asyncio.to_thread(_open, server.url)
        try:
            await server.wait_connected(TIMEOUT)
            assert server.connected
            await server.send_scan(EAN)
            await server.send_split("LOC:A", 3, pause=0.01)
            assert await asyncio.to_thread(_read_frame, port, b"\r") == b"5012345678900\r"
            assert await asyncio.to_thread(_read_frame, port, b"\r") == b"LOC:A\r"
            noise = await server.send_noise(10)
            assert await asyncio.to_thread(port.read, 10) == noise
            await asyncio.to_thread(port.write, b"\x06\x15\x06")
            assert await server.wait_feedback(3, TIMEOUT) == FeedbackCounts(acks=2, naks=1)
            assert (server.acks, server.naks) == (2, 1)
            assert await server.read_feedback(TIMEOUT) == b"\x06\x15\x06"
        finally:
            await asyncio.to_thread(port.close)


async def test_device_server_drop_and_restart_on_the_same_port() -> None:
    async with DeviceServer(model=HONEYWELL) as server:
        port_number = server.port
        port = await asyncio.to_thread(_open, server.url)
        try:
            await server.wait_connected(TIMEOUT)
            await server.drop()
            assert not server.listening
            assert not server.connected
            with pytest.raises(serial.SerialException):
                await asyncio.to_thread(port.read, 1)
        finally:
            await asyncio.to_thread(port.close)
        with pytest.raises(serial.SerialException):
            await asyncio.to_thread(_open, server.url)
        with pytest.raises(NotConnectedError, match="no gateway"):
            await server.send_scan(EAN)

        await server.restart()
        assert server.port == port_number
        port = await asyncio.to_thread(_open, server.url)
        try:
            await server.wait_connected(TIMEOUT)
            await server.send_scan(EAN)
            assert await asyncio.to_thread(_read_frame, port, b"\r\n") == b"]E05012345678900\r\n"
            assert server.connections == 2
        finally:
            await asyncio.to_thread(port.close)


async def test_device_server_abort_drop_resets_the_connection() -> None:
    async with DeviceServer() as server:
        port = await asyncio.to_thread(_open, server.url)
        try:
            await server.wait_connected(TIMEOUT)
            await server.drop(abort=True)
            with pytest.raises(serial.SerialException):
                await asyncio.to_thread(port.read, 1)
        finally:
            await asyncio.to_thread(port.close)


async def test_device_server_new_connection_replaces_the_old_one() -> None:
    async with DeviceServer() as server:
        first = await asyncio.to_thread(_open, server.url)
        second = None
        try:
            await server.wait_connected(TIMEOUT)
            second = await asyncio.to_thread(_open, server.url)
            with pytest.raises(serial.SerialException):
                await asyncio.to_thread(first.read, 1)
            await server.send_scan("LOC:B")
            assert await asyncio.to_thread(_read_frame, second, b"\r\n") == b"]C0LOC:B\r\n"
        finally:
            await asyncio.to_thread(first.close)
            if second is not None:
                await asyncio.to_thread(second.close)


async def test_device_server_wait_connected_times_out() -> None:
    async with DeviceServer() as server:
        with pytest.raises(TimeoutError):
            await server.wait_connected(0.01)


# -- scripts and load ---------------------------------------------------------------


async def test_run_script_on_a_pty_scanner_reports_each_outcome(
    tmp_path: Path, stand_in: StandInFactory
) -> None:
    steps = parse_script(
        "CMD:RECEIVE\nLOC:A-01\nBAD-CODE\n@unplug\n@replug\n@sleep 0.2\n"
        "(01)15012345678907(10)LOT42\n@raw 42\n@noise 3\n"
    )
    async with await PtyScanner.create(tmp_path / "s", HONEYWELL) as scanner:
        gateway = stand_in(str(tmp_path / "s"), HONEYWELL, _good_unless_bad)
        await asyncio.to_thread(_wait_until_opened, gateway, 1)
        report = await run_script(scanner, steps, feedback_timeout=TIMEOUT, seed=1)
    assert report.scans_sent == 4
    assert report.outcomes == (Feedback.ACK, Feedback.ACK, Feedback.NAK, Feedback.ACK)
    assert gateway.frames[:4] == ["CMD:RECEIVE", "LOC:A-01", "BAD-CODE", GS1[: 2 + 14 + 2 + 5]]


async def test_run_script_on_a_device_server_waits_for_the_gateway_after_replug(
    stand_in: StandInFactory,
) -> None:
    steps = parse_script("LOC:A\n@unplug\n@replug\nBAD\n")
    async with DeviceServer(model=DATALOGIC) as server:
        gateway = stand_in(server.url, DATALOGIC, _good_unless_bad)
        await server.wait_connected(TIMEOUT)
        await asyncio.to_thread(_wait_until_opened, gateway, 1)
        report = await run_script(
            server, steps, pace=0.01, feedback_timeout=TIMEOUT, connect_timeout=TIMEOUT
        )
    assert report.outcomes == (Feedback.ACK, Feedback.NAK)
    assert server.connections == 2


async def test_run_script_hears_nothing_from_a_silent_model(tmp_path: Path) -> None:
    async with await PtyScanner.create(tmp_path / "s", GENERIC_BEL) as scanner:
        report = await run_script(scanner, parse_script("LOC:A"), feedback_timeout=0.01)
    assert report.outcomes == (None,)


async def test_run_load_drives_pty_and_tcp_scanners_at_the_planned_rate(
    tmp_path: Path, stand_in: StandInFactory
) -> None:
    def judge(text: str) -> bool:
        if text.isdigit():
            return is_valid_gtin(text) and text in SAMPLE_CATALOG.products
        return True

    plan = LoadPlan(scanners=2, rate_per_scanner=40, seconds=0.5, seed=5, bad_share=0.3)
    async with (
        await PtyScanner.create(tmp_path / "s", HONEYWELL) as scanner,
        DeviceServer(model=DATALOGIC) as server,
    ):
        pty_gateway = stand_in(str(tmp_path / "s"), HONEYWELL, judge)
        tcp_gateway = stand_in(server.url, DATALOGIC, judge)
        await server.wait_connected(TIMEOUT)
        await asyncio.to_thread(_wait_until_opened, pty_gateway, 1)
        await asyncio.to_thread(_wait_until_opened, tcp_gateway, 1)
        report = await run_load([scanner, server], plan)
    assert [s.frames_sent for s in report.scanners] == [20, 20]
    assert [s.name for s in report.scanners] == ["s", server.name]
    assert all(s.failed == s.skipped == 0 for s in report.scanners)
    assert report.naks == report.bad_sent > 0
    assert report.acks == report.frames_sent - report.bad_sent
    assert 0.45 < report.elapsed < 0.5 + TIMEOUT


async def test_run_load_refuses_a_target_count_unlike_the_plan(tmp_path: Path) -> None:
    async with await PtyScanner.create(tmp_path / "s") as scanner:
        with pytest.raises(ValueError, match="2 scanners, 1 targets"):
            await run_load([scanner], LoadPlan(scanners=2, rate_per_scanner=1, seconds=1))


async def test_run_load_counts_sends_that_fail(tmp_path: Path) -> None:
    async with DeviceServer() as server:
        report = await run_load(
            [server], LoadPlan(scanners=1, rate_per_scanner=50, seconds=0.1, settle_timeout=0)
        )
    assert report.frames_sent == 0
    assert report.scanners[0].failed == 5
