"""The install a user gets, outside the dev tree: the wheel is built, installed by the images'
install script (deploy/docker/install.sh) into a fresh venv without torch, and `gaikan serve` from
that venv inspects parts from a replay camera. Slow: a real pip install of the serving stack."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.conftest import write_test_line
from tests.live_server import free_port, interrupt, wait_for

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_FOLDERS = ("camera", "models", "service")
INSTALL_SCRIPT = ROOT / "deploy" / "docker" / "install.sh"
# The GPU image: nvidia/cuda:…-ubuntu24.04 with Ubuntu's Python 3.12 (deploy/docker/Dockerfile.gpu).
GPU_IMAGE_TARGET = ["--python-version", "3.12", "--only-binary=:all:"] + [
    option for platform in ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
    for option in ("--platform", platform)
]

pytestmark = pytest.mark.slow


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _setuptools_major() -> int:
    try:
        return int(importlib.metadata.version("setuptools").split(".")[0])
    except importlib.metadata.PackageNotFoundError:
        return 0


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The gaikan wheel, built from a copy of the sources (nothing else from the dev tree)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for folder in PACKAGE_FOLDERS:
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("wheels")
    isolation = ["--no-build-isolation"] if _setuptools_major() >= 77 else []  # else pip fetches it
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", *isolation, "--wheel-dir", str(out), str(source)], timeout=600)
    (built,) = out.glob("gaikan-*.whl")
    return built


@pytest.fixture(scope="module")
def serving_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the CPU image's install (deploy/docker/install.sh cpu)."""
    venv = tmp_path_factory.mktemp("serving") / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], timeout=300)
    python = venv / "bin" / "python"
    result = _run(["sh", str(INSTALL_SCRIPT), "cpu", str(wheel.parent), "--quiet"], env={**os.environ, "PYTHON": str(python)}, timeout=1500)
    assert "no torch" in result.stdout
    return python


def _tracked_package_files() -> list[str]:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: cannot list the tracked sources")
    listed = _run(["git", "ls-files", "--", *PACKAGE_FOLDERS], cwd=ROOT).stdout.split()
    return [name for name in listed if (ROOT / name).is_file()]


def test_the_wheel_holds_every_file_of_camera_models_and_service(wheel: Path) -> None:
    shipped = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in _tracked_package_files() if f"gaikan/{name}" not in shipped]
    assert not missing, f"left out of the wheel (add a package-data pattern in pyproject.toml): {missing}"
    assert not [name for name in shipped if "__pycache__" in name or name.endswith(".pyc")]


def _files(folder: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in folder.rglob("*") if p.is_file()}


def test_the_installed_service_serves_decisions_and_never_imports_torch(
    serving_python: Path, template_model_file: Path, tmp_path: Path
) -> None:
    venv = serving_python.parent.parent
    located = _run([str(serving_python), "-c", "import gaikan.service; print(gaikan.service.__file__)"], cwd=tmp_path).stdout
    assert located.strip().startswith(str(venv)), located

    line = write_test_line(tmp_path / "line", 10)
    port = free_port()
    config = tmp_path / "gaikan.toml"
    config.write_text(
        f'port = {port}\ndata_dir = "{tmp_path / "data"}"\ninitial_model = "{template_model_file}"\n'
        'deadline_ms = 20000\nmax_batch = 1\nintra_op_threads = 1\n'
        f'[camera]\nkind = "replay"\npath = "{line}"\nfps = 4\nloop = true\n',
        encoding="utf-8",
    )
    run_dir, tmp_dir = tmp_path / "cwd", tmp_path / "tmp"
    run_dir.mkdir()
    tmp_dir.mkdir()
    report = tmp_path / "torch-imports.txt"
    before = _files(venv)
    # As in the image: read-only code, writes only to the data dir and TMPDIR.
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_dir), "TMPDIR": str(tmp_dir), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [str(serving_python), str(ROOT / "tests" / "torch_watch.py"), str(report), str(venv / "bin" / "gaikan"), "serve", "--config", str(config)]
    server = subprocess.Popen(command, cwd=run_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:

            def healthy() -> bool:
                assert server.poll() is None, f"gaikan serve exited:\n{server.stdout.read() if server.stdout else ''}"
                try:
                    return client.get("/healthz").json() == {"status": "ok"}
                except httpx.TransportError:
                    return False

            wait_for(healthy, timeout=180, interval=0.5)

            def scored_decision() -> dict | None:
                last = client.get("/api/v1/status").json()["last_decision"]
                return last if last and last["reason"] == "score" else None

            decision = wait_for(scored_decision, timeout=180, interval=0.5)
            assert decision["model_version"] == "t1" and decision["decision"] in ("pass", "review", "reject")
            # /metrics follows the line's 5 Hz snapshot, a moment behind the decision stream
            wait_for(lambda: 'gaikan_decisions_total{decision="' in client.get("/metrics").text, timeout=30, interval=0.2)
            assert "<html" in client.get("/").text.lower()  # the dashboard files are in the wheel
    finally:
        interrupt(server, 60)
    assert report.read_text(encoding="utf-8") == "", "torch was imported by the serving install"
    assert _files(venv) == before, "serving wrote into the installed code (not read-only-root friendly)"
    assert list(run_dir.iterdir()) == [], "serving wrote into its working directory"


def test_the_gpu_image_install_resolves_for_its_python(wheel: Path, serving_python: Path, tmp_path: Path) -> None:
    """No GPU here: the GPU image's install (onnxruntime-gpu) is resolved for Python 3.12 on
    manylinux x86_64, without installing, so a missing or mismatched pin fails here first."""
    result = _run(
        ["sh", str(INSTALL_SCRIPT), "gpu", str(wheel.parent), "--dry-run", "--ignore-installed", "--target", str(tmp_path / "t"), *GPU_IMAGE_TARGET],
        env={**os.environ, "PYTHON": str(serving_python)},
        timeout=900,
    )
    assert "Would install" in result.stdout and "onnxruntime-gpu-" in result.stdout
    assert "torch" not in result.stdout.lower().replace("gaikan", "")
