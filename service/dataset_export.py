"""From the line to a dataset: re-checked parts (and a sample of passes as good) in the MVTec AD
layout that `gaikan eval`, `gaikan calibrate` and `gaikan train` read.

    DIR/train/good/<seq>.png            sampled passes nobody re-checked (training material)
    DIR/test/good/<seq>.png             parts a person found good, and a share of the sampled passes
    DIR/test/<defect_type>/<seq>.png    parts a person found defective ("unspecified" without a type)
    DIR/ground_truth/<defect_type>/     empty: no one drew masks on the line
    DIR/gaikan-export.json              every file's decision, score, model version and verdict

Once written, the re-checked parts count as exported and image retention may delete them again.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gaikan.models.dataset import EXPORT_INDEX, GOOD
from gaikan.service.records import StoredDecision
from gaikan.service.storage.decisions import DecisionStore
from gaikan.service.storage.rechecks import Finding, Recheck, RecheckStore

UNSPECIFIED = "unspecified"
INDEX_FILE = EXPORT_INDEX


class ExportError(ValueError):
    """The export cannot be written; the message says why."""


@dataclass(frozen=True, slots=True)
class ExportedPart:
    seq: int
    file: str  # relative to the dataset folder
    decision: str
    reason: str
    score: float | None
    model_version: str | None
    decided_at: float
    verdict: str | None  # None: a sampled pass nobody re-checked
    defect_type: str | None = None
    note: str | None = None
    checked_by: str | None = None


@dataclass(slots=True)
class ExportReport:
    folder: Path
    parts: list[ExportedPart] = field(default_factory=list)
    without_image: list[int] = field(default_factory=list)  # re-checked, but the image was not kept

    def count(self, prefix: str) -> int:
        return sum(part.file.startswith(prefix) for part in self.parts)

    def folders(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for part in self.parts:
            folder = part.file.rsplit("/", 1)[0]
            counts[folder] = counts.get(folder, 0) + 1
        return dict(sorted(counts.items()))


def _folder(recheck: Recheck) -> str:
    if recheck.verdict is Finding.GOOD:
        return f"test/{GOOD}"
    return f"test/{recheck.defect_type or UNSPECIFIED}"


def _copy(stored: StoredDecision, staging: Path, folder: str) -> str | None:
    source = Path(stored.image_path) if stored.image_path else None
    if source is None or not source.is_file():
        return None
    relative = f"{folder}/{stored.seq}{source.suffix.lower()}"
    target = staging / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return relative


def _part(stored: StoredDecision, relative: str, recheck: Recheck | None) -> ExportedPart:
    record = stored.record
    return ExportedPart(
        seq=stored.seq,
        file=relative,
        decision=record.decision.value,
        reason=record.reason.value,
        score=record.score,
        model_version=record.model_version,
        decided_at=record.decided_at,
        verdict=recheck.verdict.value if recheck else None,
        defect_type=recheck.defect_type if recheck else None,
        note=recheck.note if recheck else None,
        checked_by=recheck.checked_by if recheck else None,
    )


def _sample_passes(seqs: list[int], count: int, test_share: float, seed: int) -> tuple[list[int], list[int]]:
    """Up to `count` passes chosen at random (seeded), split into (train, test) by `test_share`."""
    chosen = random.Random(seed).sample(seqs, min(count, len(seqs)))
    held_out = round(len(chosen) * test_share)
    return sorted(chosen[held_out:]), sorted(chosen[:held_out])


def export_dataset(
    rechecks: RecheckStore,
    decisions: DecisionStore,
    out: Path,
    *,
    since: float | None,
    until: float | None,
    model: str | None,
    passes: int = 200,
    test_share: float = 0.2,
    seed: int = 0,
) -> ExportReport:
    """Write the dataset to `out` (which must not exist or be empty) and mark the re-checked parts
    written as exported. The folder appears complete or not at all."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} exists and is not an empty folder")
    if not 0.0 <= test_share <= 1.0:
        raise ExportError("the share of passes for test/good must be between 0 and 1")
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    report = ExportReport(folder=out)
    exported: list[Recheck] = []
    try:
        verdicts = rechecks.for_seqs(rechecks.rechecked_seqs(since=since, until=until, model=model))
        for seq, recheck in sorted(verdicts.items()):
            stored = decisions.get(seq)
            relative = _copy(stored, staging, _folder(recheck)) if stored else None
            if stored is None or relative is None:
                report.without_image.append(seq)
                continue
            report.parts.append(_part(stored, relative, recheck))
            exported.append(recheck)
            if recheck.verdict is Finding.DEFECTIVE:
                (staging / "ground_truth" / (recheck.defect_type or UNSPECIFIED)).mkdir(parents=True, exist_ok=True)
        kept = rechecks.kept_passes(since=since, until=until, model=model)
        train, test = _sample_passes(kept, passes, test_share, seed)
        for folder, seqs in ((f"train/{GOOD}", train), (f"test/{GOOD}", test)):
            for seq in seqs:
                stored = decisions.get(seq)
                relative = _copy(stored, staging, folder) if stored else None
                if stored is not None and relative is not None:  # deleted by retention meanwhile: skip
                    report.parts.append(_part(stored, relative, None))
        index = {
            "exported_at": time.time(),
            "since": since,
            "until": until,
            "model": model,
            "parts": [asdict(part) for part in report.parts],
            "without_image": report.without_image,
        }
        (staging / INDEX_FILE).write_text(json.dumps(index, indent=1), encoding="utf-8")
        if out.exists():
            out.rmdir()
        staging.replace(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    rechecks.mark_exported(exported)
    return report
