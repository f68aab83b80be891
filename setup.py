"""Package discovery. The sources live in camera/, models/ and service/ at the top of the repository
and install as gaikan.camera, gaikan.models and gaikan.service. Every folder below those three is
found here (data folders such as service/dashboard/ too, as namespace packages), so nothing can be
left out of the wheel by a list kept by hand; pyproject.toml has everything else."""

from setuptools import find_namespace_packages, setup

TOP_LEVEL = ("camera", "models", "service")

found = find_namespace_packages(
    include=[pattern for top in TOP_LEVEL for pattern in (top, f"{top}.*")], exclude=["*__pycache__*"]
)
setup(packages=[f"gaikan.{name}" for name in found], package_dir={f"gaikan.{top}": top for top in TOP_LEVEL})
