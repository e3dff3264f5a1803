"""TLS served by stockd itself (``[web] tls_cert``/``tls_key``): an HTTPS round trip, a
``wss://`` feed hello, and one clear start-up line for a bad certificate or key."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
import websockets
from aiohttp import ClientSession

from stock_core.domain.token import Role
from stock_core.service import StockService
from stock_core.store.database import Database
from tests.cluster import StockdProcess
from tests.functional.command import stockd
from tests.integration.catalog_fixture import load_sample_catalog
from tests.timing import UNIT

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def _self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made by ``openssl req``."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
async def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return await asyncio.to_thread(_self_signed, tmp_path, "server")


def _config(path: Path, cert: Path, key: Path) -> Path:
    path.write_text(
        f'[web]\nhost = "127.0.0.1"\nport = 0\ntls_cert = "{cert}"\ntls_key = "{key}"\n'
    )
    return path


async def test_https_and_a_wss_feed_hello_work(
    database: Database, certificate: tuple[Path, Path], database_url: str, tmp_path: Path
) -> None:
    service = StockService(database.pool)
    await load_sample_catalog(service)
    token, _ = await service.create_token("floor", Role.DISPLAY)
    cert, key = certificate
    config = await asyncio.to_thread(_config, tmp_path / "web.toml", cert, key)
    node = StockdProcess("web", config, database_url=database_url, log_dir=tmp_path)
    await node.start(timeout=30 * UNIT)
    try:
        printed = (tmp_path / "web.1.out").read_text()
        found = re.search(r"(https://127\.0\.0\.1:\d+)/", printed)
        assert found, printed
        base = found.group(1)
        trust = ssl.create_default_context(cafile=str(cert))

        async with (
            ClientSession() as session,
            session.get(
                f"{base}/api/v1/stock/WIDGET",
                headers={"Authorization": f"Bearer {token}"},
                ssl=trust,
            ) as response,
        ):
            assert response.status == 200
            assert (await response.json())["sku"] == "WIDGET"
            assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]

        url = base.replace("https://", "wss://") + "/feed"
        async with websockets.connect(url, ssl=trust) as ws:
            await ws.send(json.dumps({"type": "hello", "token": token, "since": None}))
            first = json.loads(await asyncio.wait_for(ws.recv(), 5 * UNIT))
            assert first["type"] == "snapshot"

        # plain HTTP on the TLS port gets nowhere
        with pytest.raises(Exception):  # noqa: B017, PT011 - any refusal will do
            async with (
                ClientSession() as session,
                session.get(base.replace("https://", "http://") + "/healthz") as response,
            ):
                assert response.status != 200
    finally:
        await node.stop()


async def test_a_bad_certificate_or_key_stops_start_up_with_one_line(
    certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    cert, key = certificate
    _, other_key = await asyncio.to_thread(_self_signed, tmp_path, "other")
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello\n")
    missing = tmp_path / "missing.crt"
    home = tmp_path / "home"
    home.mkdir()
    cases = [
        (missing, key, f"bad setting web.tls_cert: cannot read {missing}: No such file"),
        (cert, tmp_path / "nokey", "bad setting web.tls_key: cannot read"),
        (not_pem, key, f"bad setting web.tls_cert: {not_pem} holds no PEM certificate"),
        (cert, not_pem, f"bad setting web.tls_key: {not_pem} holds no usable PEM private key"),
        (cert, other_key, f"bad setting web.tls_key: the key in {other_key} does not match"),
    ]
    for command in ("web", "serve"):
        for n, (bad_cert, bad_key, expected) in enumerate(cases):
            config = _config(tmp_path / f"bad{n}.toml", bad_cert, bad_key)
            run = await stockd("--config", config, command, home=home, url=None)
            assert run.returncode == 2, (expected, run.stderr)
            (line,) = run.stderr_lines
            assert line.startswith(f"stockd: {expected}"), line
    half = tmp_path / "half.toml"
    half.write_text(f'[web]\ntls_cert = "{cert}"\n')
    run = await stockd("--config", half, "web", home=home, url=None)
    assert run.returncode == 2
    (line,) = run.stderr_lines
    assert "tls_cert and tls_key go together" in line
    assert not (home / "pgdata").exists()  # refused before any database was started
