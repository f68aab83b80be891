"""Shared fixtures: small synthetic data and real ONNX model packages built without torch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from gaikan.models.synthetic import write_dataset

if TYPE_CHECKING:
    from gaikan.service.settings import Settings


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small MVTec-layout dataset of synthetic parts (64 px), shared by the whole run."""
    return write_dataset(
        tmp_path_factory.mktemp("dataset"), train_good=12, test_good=6, test_per_defect=2, size=64, seed=3
    )


@pytest.fixture(scope="session")
def supervised_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`synthetic_dataset` plus 3 defective training images per defect type under train/<type>/."""
    return write_dataset(
        tmp_path_factory.mktemp("supervised"), train_good=12, test_good=6, test_per_defect=2, size=64, seed=3,
        train_per_defect=3,
    )  # fmt: skip


LINE_PATTERN: tuple[str | None, ...] = (None, None, "scratch", None, "crack")


def write_test_line(folder: Path, count: int, *, size: int = 64, seed: int = 5) -> Path:
    """A replay folder `<i>_<good|defect>.png` of parts the template model separates cleanly
    (scratches and cracks; see tests/onnx_graphs.py)."""
    import cv2

    from gaikan.models.synthetic import render_part

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        defect = LINE_PATTERN[i % len(LINE_PATTERN)]
        part = render_part(seed, i, defect, size)
        cv2.imwrite(str(folder / f"{i:04d}_{defect or 'good'}.png"), cv2.cvtColor(part.image, cv2.COLOR_RGB2BGR))
    return folder


def replay_settings(
    root: Path, parts: int, model: Path | None, *, fps: float | None, loop: bool, camera_id: str = "replay", **overrides: Any
) -> Settings:
    """Settings of a line keeping its data in `root`/data whose camera replays `parts` test parts
    (`write_test_line`, in `root`/line) through `model`; `overrides` are further settings."""
    from gaikan.camera.config import ReplayConfig
    from gaikan.service.settings import Settings

    camera = ReplayConfig(path=write_test_line(root / "line", parts), fps=fps, loop=loop, camera_id=camera_id)
    return Settings(data_dir=root / "data", camera=camera, initial_model=model, **overrides)


@pytest.fixture(scope="session")
def template_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A template-difference package (version t1, reject 2.9) fitted on 16 good 64 px parts."""
    from gaikan.models.package import write_package
    from gaikan.models.synthetic import render_part
    from tests.onnx_graphs import template_package

    package = template_package([render_part(0, i, None, 64).image for i in range(16)], version="t1", reject=2.9)
    return write_package(package, tmp_path_factory.mktemp("models") / "t1.zip")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server for this test session (skipped, with the reason, where it cannot run)."""
    import shutil
    import tempfile

    from tests.postgres import temporary_postgres, unavailable_reason

    reason = unavailable_reason()
    if reason:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    # Not under pytest's private temp folder: the server may run as the 'postgres' user.
    root = Path(tempfile.mkdtemp(prefix="gaikan-pg-"))
    try:
        with temporary_postgres(root) as url:
            yield url
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def mqtt_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real mosquitto broker on a free loopback port (skipped, with the reason, without the binary)."""
    from tests.mqtt_broker import Broker, mosquitto_binary

    if mosquitto_binary() is None:
        pytest.skip("MQTT tests skipped: the mosquitto broker is not installed (Debian: apt-get install mosquitto; `make test-deps`)")
    broker = Broker(tmp_path_factory.mktemp("mosquitto")).start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each supported kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gaikan.db'}"
        return
    import uuid

    import sqlalchemy

    server = request.getfixturevalue("postgres_url")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    yield server.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def template_package_file(synthetic_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real template-difference package (64 px RGB, reject 3) fitted on the synthetic dataset's
    train/good, written as a package file."""
    from gaikan.models.dataset import train_images
    from gaikan.models.package import write_package
    from gaikan.models.preprocess import read_image
    from tests.onnx_graphs import template_package

    package = template_package([read_image(p) for p in train_images(synthetic_dataset)], version="1", reject=3.0)
    return write_package(package, tmp_path_factory.mktemp("packages") / "template-1.zip")
