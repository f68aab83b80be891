"""Run a console script (argv[2:]) in this interpreter and record every attempt to import torch.

    python tests/torch_watch.py REPORT /path/to/venv/bin/gaikan serve --config gaikan.toml

Each attempt is appended to REPORT as it happens, whether or not torch is installed and whether
or not the caller catches the ImportError, so an empty REPORT means torch was never asked for."""

from __future__ import annotations

import importlib.abc
import runpy
import sys
from pathlib import Path


class TorchWatch(importlib.abc.MetaPathFinder):
    def __init__(self, report: Path) -> None:
        self.report = report

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] == "torch":
            with self.report.open("a", encoding="utf-8") as out:
                out.write(name + "\n")
        return None  # let the real finders answer


if __name__ == "__main__":
    report, script = Path(sys.argv[1]), sys.argv[2]
    report.touch()
    sys.path.remove(str(Path(__file__).resolve().parent))  # nothing from tests/ may be imported
    sys.meta_path.insert(0, TorchWatch(report))
    sys.argv = sys.argv[2:]
    runpy.run_path(script, run_name="__main__")
