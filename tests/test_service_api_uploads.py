"""Bounded uploads against the real server: zip bombs, thousands of members and huge bodies are
refused with a reason while the server's memory stays put and the running model is untouched.

The LiveServer runs in this process, so its memory is this process's: the peak resident size
(VmHWM, reset through /proc/self/clear_refs) is measured around each request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gaikan.service.settings import Settings
from tests.live_server import LiveServer
from tests.zip_bombs import inflating_bomb, many_members

MiB = 1024 * 1024


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


def _peak_growth_mb(request: callable) -> tuple[httpx.Response, float]:  # type: ignore[valid-type]
    """The request's answer and how far the process's resident memory rose above where it started."""
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak to the current size
    except OSError:
        pytest.skip("cannot reset the peak resident size here (/proc/self/clear_refs)")
    before = _status_kb("VmRSS")
    response = request()
    growth = (_status_kb("VmHWM") - before) / 1024
    print(f"{response.status_code}: peak RSS growth {growth:.1f} MB")
    return response, growth


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, template_model_file: Path) -> Iterator[LiveServer]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("uploads"), initial_model=template_model_file, max_upload_mb=20, max_package_mb=64
    )
    with LiveServer(settings) as live:
        yield live


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        before = (client.get("/api/v1/thresholds").json(), [m["version"] for m in client.get("/api/v1/models").json()])
        yield client
        after = (client.get("/api/v1/thresholds").json(), [m["version"] for m in client.get("/api/v1/models").json()])
        assert after == before, "a refused upload leaves the running model, its thresholds and the versions as they were"
    assert list((Path(server.settings.data_dir) / "uploads").glob("*")) == [], "no temporary file is left behind"


def _post(client: httpx.Client, content: object) -> httpx.Response:
    return client.post("/api/v1/models", content=content, headers={"Content-Type": "application/zip"})


def test_a_2_mb_zip_that_inflates_to_2_gib_is_refused_413(client: httpx.Client) -> None:
    bomb = inflating_bomb(2.0)
    assert len(bomb) < 3 * MiB
    response, growth = _peak_growth_mb(lambda: _post(client, bomb))
    assert response.status_code == 413 and "model.onnx inflates" in response.json()["detail"]
    assert growth < 40, f"server memory rose {growth:.0f} MB"


def test_a_bomb_whose_headers_lie_about_its_size_is_stopped_while_inflating(client: httpx.Client) -> None:
    bomb = inflating_bomb(1.0, declared_size=1000)
    response, growth = _peak_growth_mb(lambda: _post(client, bomb))
    assert response.status_code in (413, 422), response.text
    assert "model.onnx" in str(response.json()["detail"])
    assert growth < 40, f"server memory rose {growth:.0f} MB"


def test_thousands_of_members_are_refused_413(client: httpx.Client) -> None:
    response, growth = _peak_growth_mb(lambda: _post(client, many_members(5000)))
    assert response.status_code == 413 and "5002 zip members" in response.json()["detail"]
    assert growth < 40, f"server memory rose {growth:.0f} MB"


def test_a_huge_body_is_streamed_to_disk_and_cut_off_at_the_limit(client: httpx.Client) -> None:
    chunk = bytes(MiB)

    def endless() -> Iterator[bytes]:  # 200 MiB, chunked (no Content-Length): counted as it arrives
        for _ in range(200):
            yield chunk

    response, growth = _peak_growth_mb(lambda: _post(client, endless()))
    assert response.status_code == 413 and "20 MiB upload limit" in response.json()["detail"]
    assert growth < 40, f"server memory rose {growth:.0f} MB"
    # A declared Content-Length past the limit is refused before a byte of the body is read.
    import socket

    with socket.create_connection(("127.0.0.1", client.base_url.port), timeout=30) as raw:
        raw.sendall(f"POST /api/v1/models HTTP/1.1\r\nHost: x\r\nContent-Type: application/zip\r\nContent-Length: {300 * MiB}\r\n\r\n".encode())
        assert raw.recv(4096).startswith(b"HTTP/1.1 413")


def test_an_empty_or_junk_body_is_refused_with_the_reason(client: httpx.Client) -> None:
    assert _post(client, b"").status_code == 422
    junk = _post(client, b"PK\x03\x04 not really a zip")
    assert junk.status_code == 422 and "not a zip file" in junk.json()["detail"][0]["msg"]
