"""The reference page renders every operation in a real (headless) browser, offline."""

from __future__ import annotations

from pathlib import Path

from tests.browser import Browser
from tests.browser import needs_chromium
from tests.functional.api.conftest import Client
from web_ui.api import all_routes

pytestmark = needs_chromium

SCREENSHOT = Path(__file__).resolve().parents[2] / "artifacts" / "api-docs.png"


async def test_the_reference_page_renders_every_operation(client: Client) -> None:
    url = str(client.make_url("/api/v1/docs"))
    async with Browser.launch() as browser:
        page = await browser.new_page(width=1400, height=1000)
        await page.navigate(url)
        await page.wait_for("document.querySelectorAll('section.op[id^=op-]').length > 0")
        operations = await page.evaluate("document.querySelectorAll('section.op[id^=op-]').length")
        assert operations == len(all_routes())
        text = await page.evaluate("document.body.innerText")
        assert "Idempotency-Key" in text
        assert "/problems/insufficient-stock" in text
        await page.screenshot(SCREENSHOT)
        assert page.errors == []
