"""Browser suites skip without Chromium on a developer's machine, and fail in CI.

The suites are run by a nested pytest with ``STOCKD_TEST_CHROMIUM`` pointing at a file
that does not exist: as on a machine without the browser.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest

from tests.functional.command import communicate_within

ROOT = Path(__file__).resolve().parents[2]
SUITES = (
    "tests/functional/test_floor_page.py",
    "tests/functional/test_manage_page.py",
    "tests/functional/api/test_docs_page.py",
)


def browser_suites() -> list[str]:
    """Every test module that drives the browser (imports ``tests.browser``)."""
    return sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "tests").rglob("test_*.py")
        if re.search(r"^from tests\.browser import", path.read_text(), re.MULTILINE)
    )


def test_every_browser_suite_uses_the_shared_gate() -> None:
    suites = browser_suites()
    assert set(SUITES) <= set(suites)
    for suite in suites:
        text = (ROOT / suite).read_text()
        assert "pytestmark = needs_chromium" in text, f"{suite} does not use needs_chromium"
        assert "skipif" not in text, f"{suite} has a skip of its own"


async def nested_pytest(suite: str, ci: str | None) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env["STOCKD_TEST_CHROMIUM"] = str(ROOT / "no-such-chromium")
    if ci is not None:
        env["CI"] = ci
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", suite,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await communicate_within(process, 120)
    assert process.returncode is not None
    return process.returncode, output.decode()


@pytest.mark.parametrize("suite", SUITES)
async def test_without_chromium_a_browser_suite_skips_on_a_developer_machine(suite: str) -> None:
    code, output = await nested_pytest(suite, ci=None)
    assert code == 0, output
    assert re.search(r"\d+ skipped", output), output
    assert "passed" not in output
    assert "failed" not in output


@pytest.mark.parametrize("suite", SUITES)
async def test_without_chromium_a_browser_suite_fails_in_ci(suite: str) -> None:
    code, output = await nested_pytest(suite, ci="true")
    assert code == 1, output
    assert re.search(r"^1 (failed|error) in ", output, re.MULTILINE), output
    assert "no-such-chromium is missing (CI=true: browser tests fail rather than skip)" in output
    assert "skipped" not in output
