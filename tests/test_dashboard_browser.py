"""The dashboard in real headless Chromium against the real server and the replay camera.

Skipped with a message where Debian's `chromium` or Playwright is missing; `make test-deps`
installs both (Chromium when run as root, as CI is). Set GAIKAN_SCREENSHOTS=docs to refresh the
README's screenshots (`make screenshots`); otherwise they go to the test's temporary folder.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gaikan.camera.config import ReplayConfig
from gaikan.service.cli import app
from gaikan.service.settings import ApiKey, Role, Settings
from tests.conftest import write_test_line
from tests.live_server import LiveServer

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("GAIKAN_CHROMIUM", "/usr/bin/chromium"))  # Debian's; another build by path
# Playwright also gives every launch a new, empty --user-data-dir.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OPERATOR = ApiKey(name="olga", key="operator-key-for-tests-0001", role=Role.OPERATOR)
ENGINEER = ApiKey(name="erik", key="engineer-key-for-tests-0001", role=Role.ENGINEER)
WAIT_MS = 15_000

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed: `make test-deps` installs the dev extra"
)


def secret(key: ApiKey) -> str:
    return key.key.get_secret_value()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.skip(f"Chromium not found at {CHROMIUM}: install Debian's `chromium` (`make test-deps` does, as root)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, template_model_file: Path) -> Iterator[LiveServer]:
    """A line that keeps running: 5 parts/s looping over good parts, scratches and cracks."""
    root = tmp_path_factory.mktemp("dashboard")
    settings = Settings(
        data_dir=root / "data",
        camera=ReplayConfig(path=write_test_line(root / "line", 10), fps=5, loop=True, camera_id="cam1"),
        initial_model=template_model_file,
        keep_pass_fraction=1.0,
        api_keys=[OPERATOR, ENGINEER],
        defect_types={"*": ["scratch", "crack"]},
    )
    with LiveServer(settings) as live:
        yield live


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("GAIKAN_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Page:
    """A browser tab on the dashboard that fails the test on any script error."""

    def __init__(self, browser: Any, width: int = 1366, height: int = 768) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.errors: list[str] = []
        self.expected: list[str] = []  # error messages a test provokes on purpose
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))

    def open(self, server: LiveServer, key: ApiKey | None, view: str = "") -> Any:
        query = f"?api_key={secret(key)}" if key else ""
        self.page.goto(f"{server.url}/{query}{'#' + view if view else ''}")
        self.page.wait_for_selector("#fact-connection[data-state=live]")
        return self.page

    def close(self) -> None:
        self.context.close()
        unexpected = [error for error in self.errors if not any(part in error for part in self.expected)]
        assert not unexpected, f"script errors in the page: {unexpected}"


@pytest.fixture
def tab(browser: Any) -> Iterator[Page]:
    page = Page(browser)
    yield page
    page.close()


def current_seq(page: Any) -> int:
    return int(page.get_attribute("#verdict", "data-seq") or 0)


def test_the_indicator_follows_the_parts_as_they_flow(server: LiveServer, tab: Page) -> None:
    page = tab.open(server, OPERATOR)
    assert "api_key" not in page.evaluate("location.href"), "the key must not stay in the address bar"
    seen: dict[str, int] = {}
    for outcome in ("reject", "pass", "reject"):
        after = current_seq(page)
        # Seq and text are read in the same step as the outcome: the next part may replace them
        # before a second read on a busy machine.
        shown = page.wait_for_function(
            "([outcome, after]) => { const v = document.querySelector('#verdict');"
            " return v.dataset.outcome === outcome && Number(v.dataset.seq) > after"
            " && { seq: Number(v.dataset.seq), text: document.querySelector('#verdict-text').innerText }; }",
            arg=[outcome, after],
        ).json_value()
        seq = shown["seq"]
        seen[outcome] = seq
        assert shown["text"] == outcome.upper()  # the big text says what the server decided
        with server.client(secret(OPERATOR)) as client:
            assert client.get(f"/api/v1/results/{seq}").json()["decision"] == outcome
    assert seen["reject"] > seen["pass"]
    assert page.inner_text("#fact-model") == "t1"
    assert page.inner_text("#camera-state") == "connected"
    assert int(page.inner_text("#shift-inspected").replace(",", "")) >= 3
    assert int(page.inner_text("#hour-reject").replace(",", "")) >= 1
    assert page.is_hidden("#alarm")
    assert page.inner_text("#who") == "Operator: olga"
    with page.expect_download() as download:
        page.click("#counts-export")
    rows = Path(download.value.path()).read_text().splitlines()
    assert rows[0].startswith("seq,") and len(rows) > 3, "the shift's decisions download as CSV"


def test_a_rejected_part_appears_in_the_strip_and_opens_its_detail(server: LiveServer, tab: Page) -> None:
    page = tab.open(server, OPERATOR)
    page.wait_for_selector("#reject-strip li")
    newest_at_load = int(page.get_attribute("#reject-strip li:first-child", "data-seq") or 0)
    page.wait_for_function(
        "after => Number(document.querySelector('#reject-strip li:first-child').dataset.seq) > after", arg=newest_at_load
    )
    seq = int(page.get_attribute("#reject-strip li:first-child", "data-seq") or 0)
    card = page.locator(f"#reject-strip li[data-seq='{seq}']")
    card.locator("img.thumb").wait_for()
    page.wait_for_function(
        "seq => { const img = document.querySelector(`#reject-strip li[data-seq='${seq}'] img.thumb`);"
        " return img && img.complete && img.naturalWidth > 0; }",
        arg=seq,
    )

    card.locator("button").click()
    dialog = page.locator("#detail-dialog")
    assert dialog.is_visible()
    assert page.inner_text("#detail-title") == f"Part #{seq}"
    with server.client(secret(OPERATOR)) as client:
        stored = client.get(f"/api/v1/results/{seq}").json()
    facts = {
        name: page.inner_text(f"#detail-facts [data-fact={name}] dd") for name in ("decision", "reason", "score", "model")
    }
    assert facts == {"decision": "Reject", "reason": "Score", "score": f"{stored['score']:.4f}", "model": "t1"}
    for image in ("#detail-image", "#detail-heatmap"):
        page.wait_for_function(f"() => document.querySelector('{image}').naturalWidth > 0")
    assert "/heatmap" in (page.get_attribute("#detail-heatmap", "src") or "")

    page.keyboard.press("Escape")
    assert not dialog.is_visible()
    assert page.evaluate("document.activeElement.closest('li')?.dataset.seq") == str(seq), "focus returns to the card"


def test_a_passed_part_found_defective_later_is_reported_as_an_escape(server: LiveServer, tab: Page) -> None:
    page = tab.open(server, OPERATOR)
    page.wait_for_selector("#verdict-details:not([disabled])")
    for _ in range(30):  # the latest part changes 5 times a second: open it until it is a passed one
        page.click("#verdict-details")
        if page.inner_text("#detail-facts [data-fact=decision] dd") == "Pass":
            break
        assert page.is_hidden("#detail-escape"), "only a passed part can escape"
        page.keyboard.press("Escape")
    seq = int(page.inner_text("#detail-title").removeprefix("Part #"))
    page.click("#detail-report-escape")
    page.click("#confirm-ok")
    page.wait_for_function(f"() => document.querySelector('#detail-message').textContent.includes('#{seq}')")
    assert "escape" in page.inner_text("#detail-message") and page.is_hidden("#detail-escape")
    assert page.inner_text("#detail-facts [data-fact=recheck] dd").startswith("Defective · olga")
    with server.client(secret(OPERATOR)) as client:
        assert client.get(f"/api/v1/results/{seq}/recheck").json()["verdict"] == "defective"
        assert client.get("/api/v1/recheck/summary").json()["total"]["escapes"] >= 1


def test_without_a_key_the_page_asks_for_one(server: LiveServer, tab: Page) -> None:
    tab.expected.append("status of 401 (Unauthorized)")
    page = tab.page
    page.goto(server.url)
    page.wait_for_selector("#key-dialog[open]")
    assert page.inner_text("#verdict-meta") == "This service needs an API key."
    page.fill("#key-input", "not-a-key-of-this-service")
    page.click("#key-use")
    page.wait_for_function("() => document.querySelector('#key-error').textContent === 'This key is not recognised.'")
    page.fill("#key-input", secret(OPERATOR))
    page.keyboard.press("Enter")
    page.wait_for_function("() => !document.querySelector('#key-dialog').open")
    assert page.inner_text("#who") == "Operator: olga"
    page.wait_for_selector("#fact-connection[data-state=live]")
    page.wait_for_function("() => Number(document.querySelector('#verdict').dataset.seq) > 0")


@pytest.mark.slow  # the alarm waits 5 s before calling a connection lost
def test_a_lost_connection_raises_the_alarm_until_it_is_back(server: LiveServer, tab: Page) -> None:
    page = tab.open(server, OPERATOR)
    assert page.is_hidden("#alarm")
    tab.expected.append("ERR_INTERNET_DISCONNECTED")
    tab.context.set_offline(True)
    page.wait_for_selector("#alarm[data-level=critical]")
    assert "NO CONNECTION" in page.inner_text("#alarm")
    assert page.get_attribute("#fact-connection", "data-state") == "lost"
    tab.context.set_offline(False)
    page.wait_for_selector("#fact-connection[data-state=live]")
    assert page.is_hidden("#alarm")


def test_the_heatmap_overlay_toggles(server: LiveServer, tab: Page) -> None:
    page = tab.open(server, OPERATOR)
    page.wait_for_function("() => { const i = document.querySelector('#part-image'); return !i.hidden && i.naturalWidth > 0; }")
    toggle = page.locator("#heatmap-toggle")
    assert toggle.get_attribute("aria-pressed") == "false"
    assert page.is_hidden("#part-heatmap")

    toggle.click()
    assert toggle.get_attribute("aria-pressed") == "true"
    page.wait_for_function("() => { const h = document.querySelector('#part-heatmap'); return !h.hidden && h.naturalWidth > 0; }")
    assert re.search(r"/api/v1/results/\d+/heatmap", page.get_attribute("#part-heatmap", "src") or "")

    page.keyboard.press("h")  # the keyboard shortcut
    assert toggle.get_attribute("aria-pressed") == "false"
    assert page.is_hidden("#part-heatmap")


def test_an_engineer_changes_the_reject_threshold_with_confirmation(server: LiveServer, tab: Page) -> None:
    with server.client(secret(ENGINEER)) as client:
        before = client.get("/api/v1/thresholds").json()
    page = tab.open(server, ENGINEER, "engineer")
    page.wait_for_selector("#histogram rect.bar-reject")
    page.wait_for_function(f"() => document.querySelector('#thr-reject').value === '{before['reject']}'")
    assert page.is_hidden("#eng-readonly")

    # Drag the reject line to the right, then nudge it with the keyboard.
    knob = page.locator(".handle.reject circle").bounding_box()
    assert knob is not None
    page.mouse.move(knob["x"] + knob["width"] / 2, knob["y"] + knob["height"] / 2)
    page.mouse.down()
    page.mouse.move(knob["x"] + 80, knob["y"] + 40, steps=5)
    page.mouse.up()
    dragged = float(page.input_value("#thr-reject"))
    assert dragged > before["reject"]
    page.keyboard.press("ArrowLeft")
    assert float(page.input_value("#thr-reject")) < dragged
    assert "would be" in page.inner_text("#thr-preview")

    # Type an exact value; cancelling the confirmation changes nothing.
    page.fill("#thr-reject", "3.25")
    page.click("#thr-apply")
    assert page.is_visible("#confirm-dialog")
    assert "3.25" in page.inner_text("#confirm-body")
    page.click("#confirm-cancel")
    with server.client(secret(ENGINEER)) as client:
        assert client.get("/api/v1/thresholds").json()["reject"] == before["reject"]

        page.click("#thr-apply")
        page.click("#confirm-ok")
        page.wait_for_selector("#thr-message[data-kind=ok]")
        try:
            now = client.get("/api/v1/thresholds").json()
            assert (now["reject"], now["source"]) == (3.25, "override")
            entry = client.get("/api/v1/audit", params={"action": "thresholds.update", "limit": 1}).json()[0]
            assert entry["actor"] == ENGINEER.name
            assert entry["new"]["reject"] == 3.25
            row = page.locator(f"#audit-body tr[data-id='{entry['id']}']")
            row.wait_for()
            assert ENGINEER.name in row.inner_text()
            page.wait_for_function("() => document.querySelector('#thr-in-force').textContent.includes('3.25')")
        finally:
            client.put("/api/v1/thresholds", json={"reject": before["reject"], "review": before["review"]})


def test_an_operator_key_cannot_change_the_thresholds(server: LiveServer, tab: Page) -> None:
    with server.client(secret(OPERATOR)) as client:
        before = client.get("/api/v1/thresholds").json()
        audited = len(client.get("/api/v1/audit", params={"action": "thresholds.update"}).json())
    page = tab.open(server, OPERATOR, "engineer")
    page.wait_for_selector("#histogram rect")
    assert page.is_visible("#eng-readonly")
    assert page.is_disabled("#thr-apply")
    assert page.is_disabled("#thr-reject")
    assert page.get_attribute(".handle.reject", "aria-disabled") == "true"
    assert page.is_disabled("#models-rollback")

    # Even a request made by hand from the page is refused by the server.
    tab.expected.append("status of 403 (Forbidden)")
    status = page.evaluate(
        "() => window.gaikan.client.request('/api/v1/thresholds', {method: 'PUT', json: {reject: 1.0}})"
        ".then(() => 200, (error) => error.status)"
    )
    assert status == 403
    with server.client(secret(OPERATOR)) as client:
        assert client.get("/api/v1/thresholds").json() == before
        assert len(client.get("/api/v1/audit", params={"action": "thresholds.update"}).json()) == audited


def test_the_layout_fits_a_line_screen_and_a_tablet_and_works_from_the_keyboard(
    server: LiveServer, browser: Any, screenshots: Path
) -> None:
    screen = Page(browser, 1366, 768)
    try:
        page = screen.open(server, ENGINEER)
        page.wait_for_function("() => document.querySelector('#part-image').naturalWidth > 0")
        page.click("#heatmap-toggle")
        page.wait_for_function("() => !document.querySelector('#part-heatmap').hidden")
        page.wait_for_selector("#reject-strip img.thumb")
        overflow = page.evaluate(
            "() => { const m = document.querySelector('main'), d = document.documentElement;"
            " return [d.scrollWidth - d.clientWidth, d.scrollHeight - d.clientHeight, m.scrollHeight - m.clientHeight]; }"
        )
        assert overflow == [0, 0, 0], "the line view fits 1366×768 without scrolling"
        font_px = page.evaluate("parseFloat(getComputedStyle(document.querySelector('#verdict')).fontSize)")
        assert font_px >= 96, "the indicator is large enough to read from three metres"
        page.wait_for_selector("#verdict[data-outcome=reject]")
        page.screenshot(path=str(screenshots / "dashboard.png"))

        # Keyboard only: tab to the newest reject card, open it, close it.
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("!!document.activeElement.closest('#reject-strip')"):
                break
        else:
            pytest.fail("the reject strip cannot be reached with the Tab key")
        page.keyboard.press("Enter")
        assert page.is_visible("#detail-dialog")
        page.keyboard.press("Escape")

        page.keyboard.press("e")
        page.wait_for_selector("#histogram rect")
        page.wait_for_selector("#audit-body tr")
        assert page.evaluate("document.documentElement.scrollHeight <= innerHeight"), "only the view scrolls, not the page"
        page.set_viewport_size({"width": 1366, "height": 1000})  # down to the audit trail
        page.screenshot(path=str(screenshots / "dashboard-engineer.png"))
        assert page.evaluate("[...window.gaikan.texts.missing]") == [], "every UI text is in the strings table"
    finally:
        screen.close()

    for width, height in ((768, 1024), (1024, 768)):
        tablet = Page(browser, width, height)
        try:
            page = tablet.open(server, OPERATOR)
            page.wait_for_selector("#reject-strip li")
            assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
            assert page.evaluate("document.querySelector('main').scrollWidth <= document.querySelector('main').clientWidth")
            verdict = page.locator("#verdict").bounding_box()
            assert verdict is not None and verdict["y"] + verdict["height"] <= height, "the indicator is on the first screen"
            if (width, height) == (768, 1024):
                page.screenshot(path=str(screenshots / "dashboard-tablet.png"))
        finally:
            tablet.close()


def test_the_fail_safe_alarm_shows_when_the_line_has_no_model(
    tmp_path: Path, browser: Any
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        camera=ReplayConfig(path=write_test_line(tmp_path / "line", 5), fps=8, loop=True, camera_id="cam1"),
    )
    with LiveServer(settings) as server:
        tab = Page(browser)
        try:
            page = tab.open(server, None)
            page.wait_for_selector("#alarm[data-level=critical]")
            alarm = page.inner_text("#alarm")
            assert "FAIL-SAFE" in alarm and "no active model" in alarm
            page.wait_for_selector("#verdict[data-outcome=reject]")
            assert "No active model" in page.inner_text("#verdict-meta")
            assert page.inner_text("#who") == "Local engineer (no keys)"
            assert page.is_hidden("#key-button")
        finally:
            tab.close()


@pytest.fixture(scope="module")
def second_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Version t2 of the template model (fitted on other good parts)."""
    from gaikan.models.package import write_package
    from gaikan.models.synthetic import render_part
    from tests.onnx_graphs import template_package

    package = template_package([render_part(1, i, None, 64).image for i in range(16)], version="t2", reject=2.9)
    return write_package(package, tmp_path_factory.mktemp("models") / "t2.zip")


def uploaded(page: Any, package: Path) -> None:
    """Upload `package` through the page unless the server has it already."""
    if page.locator("#models-body tr[data-version='t2']").count():
        return
    page.set_input_files("#models-upload", str(package))
    page.wait_for_selector("#models-body tr[data-version='t2']")
    assert "t2" in page.inner_text("#models-message")


def test_an_engineer_uploads_activates_and_rolls_back_a_model(server: LiveServer, tab: Page, second_model: Path) -> None:
    page = tab.open(server, ENGINEER, "engineer")
    page.wait_for_selector("#models-body tr[data-version='t1'] .badge.active")
    uploaded(page, second_model)

    page.click("#models-body tr[data-version='t2'] [data-action=activate]")
    assert "t2" in page.inner_text("#confirm-body")
    page.click("#confirm-ok")
    page.wait_for_selector("#models-body tr[data-version='t2'] .badge.active")
    page.wait_for_function("() => document.querySelector('#fact-model').textContent === 't2'")
    page.wait_for_selector("#audit-body tr[data-action='model.activate']")

    page.click("#models-rollback")
    page.click("#confirm-ok")
    page.wait_for_selector("#models-body tr[data-version='t1'] .badge.active")
    with server.client(secret(ENGINEER)) as client:
        assert client.get("/api/v1/status").json()["active_model"] == "t1"
        actions = [entry["action"] for entry in client.get("/api/v1/audit", params={"limit": 3}).json()]
    assert actions[:2] == ["model.rollback", "model.activate"]


def test_an_uncalibrated_model_wears_a_badge_until_a_calibrated_one_is_active(server: LiveServer, tab: Page) -> None:
    from gaikan.models.package import package_bytes, with_changes
    from gaikan.models.synthetic import render_part
    from tests.onnx_graphs import template_package

    page = tab.open(server, OPERATOR)
    badge = page.locator("#fact-uncalibrated")
    badge.wait_for(state="visible")  # t1 ships good-only thresholds
    assert badge.inner_text() == "UNCALIBRATED" and "gaikan calibrate" in (badge.get_attribute("title") or "")
    calibrated = with_changes(
        template_package([render_part(0, i, None, 64).image for i in range(16)], version="t1-cal", reject=2.9),
        calibrated=True,
    )
    with server.client(secret(ENGINEER)) as client:
        if "t1-cal" not in {model["version"] for model in client.get("/api/v1/models").json()}:
            assert client.post("/api/v1/models", content=package_bytes(calibrated)).status_code == 201
        assert client.post("/api/v1/models/t1-cal/activate").status_code == 200
        try:
            page.wait_for_function("() => document.querySelector('#fact-model').textContent === 't1-cal'")
            badge.wait_for(state="hidden")
        finally:
            assert client.post("/api/v1/models/t1/activate").status_code == 200
    badge.wait_for(state="visible")


def test_shadow_mode_shows_the_agreement_of_a_candidate(server: LiveServer, tab: Page, second_model: Path) -> None:
    page = tab.open(server, ENGINEER, "engineer")
    page.wait_for_selector("#models-body tr[data-version='t1'] .badge.active")
    uploaded(page, second_model)
    try:
        page.click("#models-body tr[data-version='t2'] [data-action=shadow]")
        page.wait_for_selector("#models-body tr[data-version='t2'] .badge.shadow")
        page.wait_for_selector("#agreement:not([hidden]) #agreement-body dl")
        assert "t2" in page.inner_text("#agreement-title")
        compared = "#agreement-body [data-field=frames] dd"
        for _ in range(50):  # parts flow at 5/s; the Agreement button reloads the figures
            page.click("#models-body tr[data-version='t2'] [data-action=agreement]")
            page.wait_for_selector(compared)
            if int(page.inner_text(compared)) >= 3:
                break
            page.wait_for_timeout(200)
        with server.client(secret(ENGINEER)) as client:
            report = client.get("/api/v1/models/t2/shadow").json()
        assert report["frames"] >= int(page.inner_text(compared)) >= 3
        assert page.inner_text("#agreement-body [data-field=agreement] dd").endswith("%")
        assert page.locator("#agreement-body table[data-field=confusion] tbody tr").count() >= 1
        # the shadow process's health is shown in words, not as the report's raw field names
        assert page.inner_text("#agreement-body [data-field=loaded] dd") == "yes"
        assert page.inner_text("#agreement-body [data-field=restarts] dd") == str(report["restarts"])
        assert page.inner_text("#agreement-body [data-field=restarts] dt") != "restarts"
        page.click("#models-body tr[data-version='t2'] [data-action=shadow-stop]")
        page.wait_for_selector("#models-body tr[data-version='t2'] [data-action=shadow]")
        assert page.is_hidden("#agreement")
    finally:
        with server.client(secret(ENGINEER)) as client:
            client.delete("/api/v1/models/shadow")


def test_a_silent_plc_raises_the_alarm(tmp_path: Path, browser: Any) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        camera=ReplayConfig(path=write_test_line(tmp_path / "line", 5), fps=8, loop=True, camera_id="cam1"),
        plc={"watch": ["line-plc"], "silence_s": 1.0},
    )
    with LiveServer(settings) as server:
        tab = Page(browser)
        try:
            page = tab.open(server, None)
            page.wait_for_selector("#alarm[data-level=critical]")
            page.wait_for_function("document.querySelector('#alarm').innerText.includes('PLC line-plc SILENT')")
        finally:
            tab.close()


def queued_seq(page: Any) -> int:
    return int(page.get_attribute("#rc-part", "data-seq") or 0)


def next_in_queue(page: Any, previous: int) -> int:
    page.wait_for_function(f"() => Number(document.querySelector('#rc-part').dataset.seq) > {previous}")
    return queued_seq(page)


def test_parts_are_rechecked_through_the_queue(server: LiveServer, browser: Any, screenshots: Path, tmp_path: Path) -> None:
    tablet = Page(browser, 1024, 768)
    try:
        page = tablet.open(server, OPERATOR, "recheck")
        page.wait_for_selector("#rc-part:not([hidden]) #rc-image:not([hidden])")
        page.wait_for_function("() => document.querySelector('#rc-image').naturalWidth > 0")
        page.wait_for_selector("#rc-types button[data-type=crack]")
        assert page.is_visible("#rc-heatmap"), "image and heatmap side by side"
        assert "waiting" in page.inner_text("#rc-pending")
        first = queued_seq(page)

        page.keyboard.press("g")  # one key per verdict
        second = next_in_queue(page, first)
        page.keyboard.press("2")  # the second defect type of the model's list
        third = next_in_queue(page, second)
        page.keyboard.press("n")
        page.keyboard.type("burr on the edge")
        page.click("#rc-defective")  # a tablet taps
        fourth = next_in_queue(page, third)
        page.wait_for_function(f"() => document.querySelector('#rc-message').textContent.includes('#{third}')")
        page.keyboard.press("s")  # skipped: stays pending
        fifth = next_in_queue(page, fourth)

        with server.client(secret(OPERATOR)) as client:
            found = {seq: client.get(f"/api/v1/results/{seq}").json()["recheck"] for seq in (first, second, third, fourth)}
        assert found[first]["verdict"] == "good" and found[first]["checked_by"] == "olga"
        assert (found[second]["verdict"], found[second]["defect_type"]) == ("defective", "crack")
        assert (found[third]["verdict"], found[third]["defect_type"], found[third]["note"]) == ("defective", None, "burr on the edge")
        assert found[fourth] is None and fifth > fourth

        # The summary beside the queue follows the verdicts and says what escapes mean.
        page.wait_for_function(
            "() => Number(document.querySelector('#sum-total [data-field=confirmed_defective] td').textContent) >= 2"
        )
        assert int(page.inner_text("#sum-total [data-field=overkill] td")) >= 1
        assert page.inner_text("#sum-types [data-type=crack] th") == "crack"
        assert "cannot be known from the line alone" in page.inner_text(".sum-note")
        assert "/api/v1/recheck/summary.csv" in page.get_attribute("#sum-csv", "href")
        page.set_viewport_size({"width": 1366, "height": 768})  # the queue beside the summary
        page.wait_for_function("() => document.querySelector('#rc-image').naturalWidth > 0")
        page.screenshot(path=str(screenshots / "dashboard-recheck.png"))

        assert page.evaluate("[...window.gaikan.texts.missing]") == []
    finally:
        tablet.close()

    # The export reflects the verdicts given in the browser.
    out = tmp_path / "export"
    result = CliRunner().invoke(app, ["dataset", "export", "--data-dir", str(server.settings.data_dir), "--out", str(out), "--passes", "0"])
    assert result.exit_code == 0, result.output
    assert (out / "test" / "good" / f"{first}.png").is_file()
    assert (out / "test" / "crack" / f"{second}.png").is_file()
    assert (out / "test" / "unspecified" / f"{third}.png").is_file()
    assert not list(out.rglob(f"{fourth}.png")), "a skipped part is still pending, not exported"


def test_the_dashboard_speaks_japanese_and_english(server: LiveServer, browser: Any, screenshots: Path) -> None:
    japanese = browser.new_context(viewport={"width": 1366, "height": 768}, locale="ja-JP", timezone_id="Asia/Tokyo")
    tab = Page.__new__(Page)
    tab.context, tab.errors, tab.expected = japanese, [], []
    tab.page = japanese.new_page()
    tab.page.set_default_timeout(WAIT_MS)
    tab.page.on("pageerror", lambda error: tab.errors.append(str(error)))
    try:
        page = tab.open(server, OPERATOR)  # the browser prefers Japanese
        assert page.evaluate("document.documentElement.lang") == "ja"
        assert page.input_value("#lang-select") == "ja"
        page.wait_for_selector("#verdict:not([data-outcome=none])")
        assert page.inner_text("#verdict-text") in ("合格", "不合格 NG", "要確認")
        assert page.inner_text("#tab-recheck").startswith("再検査")
        assert page.inner_text("#counts-title") == "検査数"
        untranslated = page.evaluate(
            "async () => { const { STRINGS } = await import('/js/strings.js');"
            " return Object.keys(STRINGS.en).filter((key) => !(key in STRINGS.ja)); }"
        )
        assert untranslated == [], "every English string has its Japanese"

        page.keyboard.press("r")
        page.wait_for_selector("#rc-part:not([hidden])")
        assert page.inner_text("#rc-good").startswith("良品") and page.inner_text("#rc-defective").startswith("不良")
        page.wait_for_selector("#sum-total [data-field=escapes]")
        assert "見逃し" in page.inner_text("#sum-total [data-field=escapes] th")
        captured = page.inner_text("#rc-facts [data-fact=captured] dd")
        assert re.fullmatch(r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}", captured), captured  # Japanese date order
        page.wait_for_function("() => document.querySelector('#rc-image').naturalWidth > 0")
        page.screenshot(path=str(screenshots / "dashboard-recheck-ja.png"))
        assert page.evaluate("[...window.gaikan.texts.missing]") == []

        # The switch overrides the browser, and this browser remembers it.
        with page.expect_navigation():
            page.select_option("#lang-select", "en")
        page.wait_for_selector("#fact-connection[data-state=live]")
        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.inner_text("#tab-recheck").startswith("Re-check")
        page.reload()
        page.wait_for_selector("#rc-part:not([hidden])")
        assert page.evaluate("document.documentElement.lang") == "en" and page.input_value("#lang-select") == "en"
        captured = page.inner_text("#rc-facts [data-fact=captured] dd")
        assert re.fullmatch(r"\d{2}/\d{2}/\d{4}, \d{2}:\d{2}:\d{2}", captured), captured  # English date order
        with page.expect_navigation():
            page.select_option("#lang-select", "ja")
        page.wait_for_selector("#fact-connection[data-state=live]")
        assert page.inner_text("#tab-line") == "ライン"
    finally:
        tab.close()


def test_a_line_of_several_cameras_shows_a_tile_per_camera_and_every_views_pictures_side_by_side(
    tmp_path: Path, browser: Any, template_model_file: Path, screenshots: Path
) -> None:
    from gaikan.service.pipeline import Overflow

    line = write_test_line(tmp_path / "line", 5)
    cameras = [{"camera": {"kind": "replay", "camera_id": f"cam-{v}", "path": str(line), "fps": 5, "loop": True}} for v in ("top", "side")]
    settings = Settings(
        data_dir=tmp_path / "data",
        cameras=cameras,
        stations=[{"station_id": "st1", "views": [{"name": "top", "camera": "cam-top"}, {"name": "side", "camera": "cam-side"}]}],
        initial_model=template_model_file,
        overflow=Overflow.BLOCK,
    )
    with LiveServer(settings) as server:
        tab = Page(browser)
        try:
            page = tab.open(server, None)
            page.wait_for_selector("#camera-tiles .camera-tile[data-camera=cam-side][data-camera-state=running]")
            tiles = page.locator("#camera-tiles .camera-tile")
            assert [tiles.nth(i).get_attribute("data-camera") for i in range(tiles.count())] == ["cam-top", "cam-side"]
            assert "st1 · side" in page.inner_text("#camera-tiles .camera-tile[data-camera=cam-side]")
            page.wait_for_selector("#verdict-views .view-result[data-view=side]")
            shown = page.evaluate(
                """() => ({part: document.querySelector('#verdict').dataset.outcome,
                          views: [...document.querySelectorAll('#verdict-views .view-result')].map((v) => [v.dataset.view, v.dataset.outcome])})"""
            )
            assert [view for view, _ in shown["views"]] == ["top", "side"]
            assert shown["part"] == ("reject" if any(outcome == "reject" for _, outcome in shown["views"]) else "pass")
            page.screenshot(path=str(screenshots / "dashboard-cameras.png"))

            # A rejected part's Details show every view's image and heatmap side by side.
            page.wait_for_function("() => [...document.querySelectorAll('#reject-strip li img.thumb')].some((i) => i.complete && i.naturalWidth > 0)")
            seq = page.locator("#reject-strip li:has(img.thumb)").first.get_attribute("data-seq")
            page.locator(f"#reject-strip li[data-seq='{seq}'] button").click()  # by its seq: newer parts keep arriving in front
            page.wait_for_function(
                "() => { const imgs = [...document.querySelectorAll('#detail-view-pictures img')];"
                " return imgs.length === 4 && imgs.every((i) => i.complete && i.naturalWidth > 0); }"
            )
            pictures = page.evaluate(
                """() => [...document.querySelectorAll('#detail-view-pictures li')].map((li) => [li.dataset.view, li.dataset.outcome,
                         [...li.querySelectorAll('img')].map((i) => new URL(i.src).pathname)])"""
            )
            with server.client() as client:
                stored = client.get(f"/api/v1/results/{seq}").json()
            assert [[v["view"], v["decision"]] for v in stored["views"]] == [[view, outcome] for view, outcome, _ in pictures]
            assert [paths for _, _, paths in pictures] == [
                [f"/api/v1/results/{seq}/views/{view}/image", f"/api/v1/results/{seq}/views/{view}/heatmap"] for view in ("top", "side")
            ]
            assert page.is_hidden("#detail-image") and page.is_hidden("#detail-no-image"), "the views' pictures stand for the part's"
            page.screenshot(path=str(screenshots / "dashboard-views-detail.png"))
            page.keyboard.press("Escape")

            # Re-checking a part shows every view too (each view's pictures, or why there are none).
            page.click("#tab-recheck")
            page.wait_for_function(
                "() => { const items = [...document.querySelectorAll('#rc-part:not([hidden]) #rc-view-pictures li')];"
                " return items.length === 2 && items.every((li) => li.querySelector('p')"
                " || [...li.querySelectorAll('img')].every((i) => i.complete && i.naturalWidth > 0)); }"
            )
            views = page.evaluate("() => [...document.querySelectorAll('#rc-view-pictures li')].map((li) => li.dataset.view)")
            assert views == ["top", "side"] and page.is_hidden("#rc-image")
        finally:
            tab.close()
