from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from gaikan.models.package import (
    MANIFEST_ENTRY,
    MODEL_ENTRY,
    PackageError,
    package_bytes,
    read_package,
    read_package_bytes,
    with_changes,
    write_package,
)
from gaikan.models.preprocess import read_image
from gaikan.models.synthetic import render_part
from tests.onnx_graphs import template_package


@pytest.fixture
def package():
    return template_package([render_part(1, i).image for i in range(4)], version="v1")


def _rezip(data: bytes, **replace: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            if name in replace:
                if replace[name] is not None:
                    target.writestr(name, replace[name])
            else:
                target.writestr(name, source.read(name))
    return out.getvalue()


def test_round_trip_through_a_file(tmp_path: Path, package) -> None:
    path = write_package(package, tmp_path / "m.zip")
    loaded = read_package(path)
    assert loaded.manifest == package.manifest
    assert loaded.onnx_bytes == package.onnx_bytes


def test_calibrated_flag_round_trips_and_defaults_to_uncalibrated(tmp_path: Path, package) -> None:
    assert package.manifest.calibrated is False  # a new package has good-only thresholds
    calibrated = with_changes(package, version="v2", calibrated=True)
    assert read_package(write_package(calibrated, tmp_path / "c.zip")).manifest.calibrated is True


def test_a_manifest_written_before_the_calibrated_flag_reads_as_uncalibrated(package) -> None:
    manifest = json.loads(with_changes(package, calibrated=True).manifest.model_dump_json())
    del manifest["calibrated"]
    data = _rezip(package_bytes(package), **{MANIFEST_ENTRY: json.dumps(manifest).encode()})
    assert read_package_bytes(data).manifest.calibrated is False


def test_tampered_graph_is_refused_naming_the_hash(package) -> None:
    data = _rezip(package_bytes(package), **{MODEL_ENTRY: package.onnx_bytes + b"x"})
    with pytest.raises(PackageError, match="sha256"):
        read_package_bytes(data)


def test_missing_entry_is_named(package) -> None:
    data = _rezip(package_bytes(package), **{MODEL_ENTRY: None})
    with pytest.raises(PackageError, match="missing model.onnx"):
        read_package_bytes(data)


def test_not_a_zip_and_truncated_zip_are_refused(package) -> None:
    with pytest.raises(PackageError, match="not a zip"):
        read_package_bytes(b"hello")
    data = package_bytes(package)
    with pytest.raises(PackageError):
        read_package_bytes(data[: len(data) // 2])


def test_manifest_field_errors_name_the_field(package) -> None:
    manifest = json.loads(package.manifest.model_dump_json())
    manifest["input"]["height"] = -3
    manifest["thresholds"] = {"reject": 1.0, "review": 2.0}
    data = _rezip(package_bytes(package), **{MANIFEST_ENTRY: json.dumps(manifest).encode()})
    with pytest.raises(PackageError) as error:
        read_package_bytes(data)
    assert "input.height" in str(error.value)
    assert "review threshold" in str(error.value)


def test_with_changes_makes_a_new_version(package) -> None:
    changed = with_changes(package, version="v2")
    assert changed.version == "v2" and package.version == "v1"
    assert changed.onnx_bytes is package.onnx_bytes


def test_unreadable_image_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG not really")
    with pytest.raises(ValueError, match="broken.png"):
        read_image(bad)
