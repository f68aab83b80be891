"""The API docs page works on an air-gapped line: Swagger UI comes from the package."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gaikan.service.settings import Settings
from tests.live_server import LiveServer


def test_docs_reference_only_local_assets_and_they_are_served(tmp_path: Path) -> None:
    with LiveServer(Settings(data_dir=tmp_path)) as server, server.client() as client:
        page = client.get("/docs")
        assert page.status_code == 200
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text) + re.findall(r"""url: ?['"]([^'"]+)['"]""", page.text)
        assert urls, page.text
        for url in urls:
            assert url.startswith("/") and not url.startswith("//"), f"/docs loads {url} from elsewhere"
            assert client.get(url).status_code == 200, url
        assert "validatorUrl" in page.text and "validator.swagger.io" not in page.text
        assert client.get("/redoc").status_code in (404, 405) or "cdn" not in client.get("/redoc").text
        licence = client.get("/docs-assets/LICENSE")
        assert licence.status_code == 200 and "Apache License" in licence.text


@pytest.mark.browser
def test_docs_render_in_chromium_with_the_network_cut_off(tmp_path: Path) -> None:
    from tests.test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with LiveServer(Settings(data_dir=tmp_path)) as server, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            outside: list[str] = []

            def only_local(route) -> None:  # noqa: ANN001 - playwright's Route
                if route.request.url.startswith(server.url):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", only_local)
            page.goto(f"{server.url}/docs")
            page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
            assert "Gaikan" in page.inner_text(".swagger-ui .info .title")
            page.wait_for_selector("[data-path=\"/api/v1/reject/heartbeat\"]", timeout=15_000)
            assert outside == []
        finally:
            browser.close()
