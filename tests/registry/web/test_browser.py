"""Real headless Chromium (Debian's, driven by Playwright) opens the families page, a version, a compare view and a
scorecard: content is visible, no CSP violation is logged, and no request leaves the server."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from live_server import populate

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def _browser_or_skip() -> Any:
    why = None
    if CHROMIUM is None:
        why = "no chromium binary found (shutil.which('chromium') and 'chromium-browser' are None)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        why = why or "playwright is not installed (pip install -e '.[test]')"
    if why:
        if os.environ.get("CI"):  # .ci/run installs both: in CI a missing browser is a failure, not a skip
            pytest.fail(why)
        pytest.skip(why)
    return sync_playwright


@pytest.mark.slow
def test_chromium_browses_families_version_compare_and_scorecard(serve, ckpts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sync_playwright = _browser_or_skip()
    server = serve()
    populate(server.app, ckpts, tmp_path)
    requests: list[str] = []
    console: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning")
                    else None)
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(server.url)
                       else route.abort())

            page.goto(server.url + "/")
            assert page.locator("tr[data-family=toy]").is_visible()
            assert "production → toy@1" in page.locator("tr[data-family=toy]").inner_text()
            page.click("tr[data-family=toy] a >> nth=0")
            page.wait_for_url(server.url + "/families/toy")
            assert page.locator("tr[data-version]").count() == 3
            # the compare form works without JavaScript: tick two versions, submit
            page.check("tr[data-version='toy@1'] input[type=checkbox]")
            page.check("tr[data-version='toy@3'] input[type=checkbox]")
            page.click("button:has-text('Compare')")
            page.wait_for_url("**/compare?*")
            assert page.url.endswith("/compare?v=toy%401&v=toy%403")
            worse = page.locator("td[data-direction=worse]")
            assert worse.count() == 3 and worse.first.is_visible()
            colour = worse.first.evaluate("e => getComputedStyle(e).backgroundColor")
            assert colour == "rgb(253, 232, 235)"  # the stylesheet loaded under the CSP

            page.click("th a:has-text('toy@3')")
            page.wait_for_url(server.url + "/versions/toy@3")
            assert page.locator("#version-name").inner_text() == "toy constant"
            assert page.locator("section.run").first.is_visible()
            page.click("section.run >> nth=0 >> a:has-text('scorecard')")
            page.wait_for_load_state()
            assert "/api/v1/versions/toy@3/scorecard" in page.url
            assert page.locator("header[data-verdict]").get_attribute("data-verdict") == "refused"
            assert page.locator("header[data-verdict]").is_visible()
        finally:
            browser.close()
    outside = [u for u in requests if not u.startswith(server.url)]
    assert outside == [] and len(requests) >= 6
    assert console == []
