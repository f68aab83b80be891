"""deploy/: the compose stack, the Prometheus scrape config and alert rules, the Grafana dashboard.
A real Prometheus (Debian package `prometheus`, installed by `make test-deps`) scrapes a running
service and evaluates the alert rules; promtool checks and unit-tests the rules."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gaikan.camera.config import ReplayConfig
from gaikan.service.metrics import Metrics
from gaikan.service.services.metrics import api_metric_families
from gaikan.service.settings import Settings
from tests.conftest import write_test_line
from tests.live_server import LiveServer, free_port, wait_for

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "gaikan.json"
METRIC_NAME = re.compile(r"\bgaikan_[a-z_]+\b")
ALERTS = {"GaikanDown", "GaikanNoDecisions", "GaikanFailSafe", "GaikanTimeoutRate", "GaikanDiskNearlyFull", "GaikanPlcNotAcknowledging", "GaikanShadowRestarting"}


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _env_example() -> dict[str, str]:
    lines = (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (Debian package prometheus; `make test-deps` installs it when run as root)")
    return found


def exported_metric_names() -> set[str]:
    """Every series name the service's /metrics can carry."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    families = [*Metrics().registry.collect(), *api_metric_families().values()]
    return {family.name + suffix for family in families for suffix in suffixes[family.type]}


def rule_expressions() -> list[str]:
    return [rule["expr"] for group in _yaml(PROMETHEUS / "alerts.yml")["groups"] for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    return [target["expr"] for panel in json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"] for target in panel["targets"]]


def test_promtool_accepts_the_config_and_the_rules_and_their_unit_tests_pass() -> None:
    promtool = _binary("promtool")
    for command in (["check", "config", "prometheus.yml"], ["check", "rules", "alerts.yml"], ["test", "rules", "alerts.test.yml"]):
        result = subprocess.run([promtool, *command], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"promtool {' '.join(command)}:\n{result.stdout}\n{result.stderr}"


def test_the_rules_cover_the_issue_and_use_only_exported_metrics() -> None:
    names = {rule["alert"] for group in _yaml(PROMETHEUS / "alerts.yml")["groups"] for rule in group["rules"]}
    assert names == ALERTS
    exported = exported_metric_names()
    used = {name for expr in rule_expressions() for name in METRIC_NAME.findall(expr)}
    assert used and used <= exported, f"not exported by the service: {sorted(used - exported)}"


def test_every_dashboard_panel_queries_metrics_the_service_exports() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    datasource_uid = _yaml(DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml")["datasources"][0]["uid"]
    exported = exported_metric_names()
    panels = dashboard["panels"]
    assert dashboard["uid"] and len({p["id"] for p in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        assert panel["datasource"]["uid"] == datasource_uid, panel["title"]
        assert panel["targets"], f"{panel['title']}: no query"
        for target in panel["targets"]:
            used = set(METRIC_NAME.findall(target["expr"]))
            assert used and used <= exported, f"{panel['title']}: {sorted(used - exported)} not exported"
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        mine = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not mine & cells, f"{panel['title']} overlaps another panel"
        cells |= mine
    queried = " ".join(dashboard_expressions())
    for wanted in ("gaikan_decisions_total", "gaikan_stage_latency_seconds_bucket", "gaikan_queue_depth", "gaikan_camera_state", "gaikan_active_model_info"):
        assert wanted in queried, f"the dashboard shows no {wanted}"


def test_the_compose_stack_is_complete_and_its_files_exist() -> None:
    compose = _yaml(DEPLOY / "compose.yaml")
    services = compose["services"]
    assert set(services) == {"gaikan", "postgres", "mosquitto", "prometheus", "grafana"}
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no healthcheck"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts {source}, which is not in deploy/"
            else:
                assert source in compose["volumes"], f"{name}: volume {source} is not declared"
    gaikan = services["gaikan"]
    assert gaikan["read_only"] is True and gaikan["tmpfs"] == ["/tmp"]
    assert gaikan["depends_on"]["postgres"]["condition"] == "service_healthy"
    # Every ${VAR} the stack needs is in the env file template.
    example = _env_example()
    needed = set(re.findall(r"\$\{([A-Z_]+)", (DEPLOY / "compose.yaml").read_text()))
    assert needed <= set(example), sorted(needed - set(example))
    provisioning = _yaml(DEPLOY / "grafana" / "provisioning" / "dashboards" / "gaikan.yml")
    assert f"./grafana/dashboards:{provisioning['providers'][0]['options']['path']}:ro" in services["grafana"]["volumes"]


def test_the_stack_settings_file_and_env_file_make_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from gaikan.service.settings import load_settings

    example = _env_example()
    compose_env = _yaml(DEPLOY / "compose.yaml")["services"]["gaikan"]["environment"]
    monkeypatch.setenv("GAIKAN_API_KEYS", example["GAIKAN_API_KEYS"])
    monkeypatch.setenv("GAIKAN_HOST", compose_env["GAIKAN_HOST"])
    settings = load_settings(DEPLOY / "gaikan.compose.toml")
    assert settings.host == "0.0.0.0" and len(settings.api_keys) == 3 and settings.migrate == "auto"
    assert settings.mqtt.enabled and settings.mqtt.host == "mosquitto" and "mosquitto" in _yaml(DEPLOY / "compose.yaml")["services"]
    # The shipped demo model, at the path where the CPU image installs it.
    python = re.search(r"^FROM python:(\d+\.\d+)-slim$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert python and str(settings.initial_model) == f"/opt/gaikan/venv/lib/python{python[1]}/site-packages/gaikan/models/shipped/demo.zip"


def test_both_images_install_with_the_tested_script_and_run_as_a_user_with_a_healthcheck() -> None:
    for dockerfile, flavour in ((ROOT / "Dockerfile", "cpu"), (DEPLOY / "docker" / "Dockerfile.gpu", "gpu")):
        text = dockerfile.read_text()
        assert f"sh /tmp/install.sh {flavour} /tmp/wheels" in text, dockerfile
        assert "COPY deploy/docker/install.sh /tmp/install.sh" in text
        users = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
        assert users and users[-1] not in ("root", "0"), dockerfile
        assert "HEALTHCHECK" in text and "/healthz" in text
        assert text.rstrip().endswith('CMD ["gaikan", "serve"]')


@pytest.fixture
def running_prometheus(tmp_path: Path, service_url: str) -> Iterator[str]:
    """deploy/prometheus/prometheus.yml with its rules, pointed at `service_url`, 1 s intervals."""
    binary = _binary("prometheus")
    config = _yaml(PROMETHEUS / "prometheus.yml")
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(PROMETHEUS / name) for name in config["rule_files"]]
    config["scrape_configs"][0]["static_configs"][0]["targets"] = [service_url.removeprefix("http://")]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        [binary, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            assert process.poll() is None, (tmp_path / "prometheus.log").read_text()
            try:
                return httpx.get(f"{url}/-/ready", timeout=5).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(ready, timeout=60, interval=0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture
def service_url(tmp_path: Path) -> Iterator[str]:
    """A running service with a camera but no model: every part is a fail-safe reject (no_model)."""
    line = write_test_line(tmp_path / "line", 6)
    settings = Settings(data_dir=tmp_path / "data", camera=ReplayConfig(path=line, fps=5, loop=True, camera_id="cam1"))
    with LiveServer(settings) as server:
        yield server.url


def _query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    body = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert body["status"] == "success", body
    return body["data"]["result"]


@pytest.mark.slow
def test_a_real_prometheus_scrapes_the_service_and_raises_the_fail_safe_alert(running_prometheus: str) -> None:
    rejects = wait_for(lambda: _query(running_prometheus, 'gaikan_decisions_total{decision="reject", reason="no_model"} > 0'), timeout=90)
    assert rejects[0]["metric"]["job"] == "gaikan"
    assert float(_query(running_prometheus, 'up{job="gaikan"}')[0]["value"][1]) == 1

    rules = httpx.get(f"{running_prometheus}/api/v1/rules", timeout=10).json()["data"]["groups"]
    loaded = {rule["name"]: rule for group in rules for rule in group["rules"]}
    assert set(loaded) == ALERTS and all(rule["health"] == "ok" for rule in loaded.values()), loaded

    def fail_safe_alert() -> list[dict[str, Any]]:
        alerts = httpx.get(f"{running_prometheus}/api/v1/alerts", timeout=10).json()["data"]["alerts"]
        return [a for a in alerts if a["labels"]["alertname"] == "GaikanFailSafe" and a["labels"].get("reason") == "no_model"]

    alert = wait_for(fail_safe_alert, timeout=60)[0]
    assert alert["state"] in ("pending", "firing")
    assert alert["annotations"]["summary"].endswith(": no_model")
    # The gauges set at scrape time reach Prometheus too.
    assert _query(running_prometheus, 'gaikan_camera_state{camera="cam1", state="running"}')
    free = float(_query(running_prometheus, "gaikan_data_disk_free_bytes / gaikan_data_disk_size_bytes")[0]["value"][1])
    assert 0 < free <= 1


def test_the_systemd_unit_is_valid_and_runs_the_installed_service_read_only(tmp_path: Path) -> None:
    unit = (DEPLOY / "gaikan.service").read_text(encoding="utf-8")
    for line in ("ExecStart=/opt/gaikan/venv/bin/gaikan serve", "KillSignal=SIGINT", "StateDirectory=gaikan", "ProtectSystem=strict"):
        assert line in unit.splitlines(), line
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # verify checks that ExecStart exists: the venv path only exists on an installed machine.
    copy = tmp_path / "gaikan.service"
    copy.write_text(unit.replace("/opt/gaikan/venv/bin/gaikan", shutil.which("true") or "/bin/true"), encoding="utf-8")
    result = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
