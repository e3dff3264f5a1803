"""The pages' static files: what the wheel ships, what the pages load, the vendored libraries.

No browser here (the page suites drive Chromium): these read the files as they lie in
the tree, so a page that points at a moved file, a folder the package data leaves out,
or a vendored library edited by hand fails before anyone opens a page.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from web_ui.pages import PAGES

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "web_ui" / "static"
VENDOR_SCRIPT = ROOT / "scripts" / "vendor"


def static_files() -> set[str]:
    return {p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*") if p.is_file()}


def test_the_package_data_ships_every_static_file() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["web_ui"]
    shipped = {
        p.relative_to(STATIC).as_posix()
        for pattern in patterns
        for p in (ROOT / "web_ui").glob(pattern)
        if p.is_file()
    }
    assert static_files() - shipped == set()


@pytest.mark.parametrize("folder", sorted(set(PAGES.values())))
def test_a_page_loads_only_files_that_exist(folder: str) -> None:
    index = STATIC / folder / "index.html"
    html = index.read_text()
    referenced = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert referenced, f"{index} loads nothing from /static/"
    for url in referenced:
        assert (STATIC / url.removeprefix("/static/")).is_file(), f"{index}: {url} is missing"


def test_every_module_import_resolves_to_a_file() -> None:
    for script in STATIC.rglob("*.js"):
        if "vendor" in script.relative_to(STATIC).parts:
            continue
        text = script.read_text()
        for target in re.findall(r'^import [^;]*? from "([^"]+)";', text, re.MULTILINE):
            assert target.startswith("/static/"), f"{script}: import {target} is not absolute"
            assert (STATIC / target.removeprefix("/static/")).is_file(), f"{script}: {target}"


def test_the_floor_page_keeps_no_copy_of_the_feed_client() -> None:
    floor = (STATIC / "floor" / "floor.js").read_text()
    assert 'from "/static/feed.js"' in floor
    assert "new WebSocket(" not in floor
    assert 'from "/static/api.js"' in floor


def run_vendor(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, timeout=60
    )


def test_the_vendored_libraries_match_their_manifest() -> None:
    result = run_vendor(VENDOR_SCRIPT, "--check")
    assert result.returncode == 0, result.stderr
    assert "files match manifest.json" in result.stdout


def test_a_vendored_file_changed_by_hand_or_unlisted_fails_the_check(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    shutil.copy(VENDOR_SCRIPT, tmp_path / "scripts" / "vendor")
    vendor = tmp_path / "web_ui" / "static" / "vendor"
    shutil.copytree(STATIC / "vendor", vendor)
    script = tmp_path / "scripts" / "vendor"
    assert run_vendor(script, "--check").returncode == 0
    with (vendor / "uplot" / "uPlot.esm.js").open("a") as edited:
        edited.write("\n// patched\n")
    (vendor / "stray.js").write_text("")
    result = run_vendor(script, "--check")
    assert result.returncode == 1
    assert "uplot/uPlot.esm.js: checksum differs from uplot@" in result.stderr
    assert "stray.js: not listed in manifest.json" in result.stderr
