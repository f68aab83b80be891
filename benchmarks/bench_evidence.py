"""What the evidence process costs per kept picture: demo-line rejects (part image + anomaly map
from the shipped demo model) through the real `EvidenceProcess`, its CPU read from /proc.

    python benchmarks/bench_evidence.py [--pictures 150] [--views 4]

Prints the evidence process's CPU ms per picture, the submitting (line) side's CPU ms per picture,
and the bytes kept on disk per part. With `--views N` each part is a station's part of N views
(`PartEvidence`: every view's pictures through one shared block): the figures are per part. CPU per picture holds on a shared machine where wall times
do not.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from gaikan.camera.replay import list_images
from gaikan.models.package import read_package
from gaikan.models.preprocess import prepare_batch, read_image
from gaikan.models.runtime import OnnxModel
from gaikan.service.decision import Outcome, Reason
from gaikan.service.demo import ensure_demo_line, shipped_demo_model
from gaikan.service.evidence import Evidence, PartEvidence, Pictures
from gaikan.service.evidence_process import EvidenceProcess
from gaikan.service.line import Stores
from gaikan.service.metrics import Metrics
from gaikan.service.records import DecisionRecord

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def demo_evidence(folder: Path) -> list[Evidence]:
    images = [read_image(path) for path in list_images(ensure_demo_line(folder))]
    model = OnnxModel(read_package(shipped_demo_model()), intra_op_threads=1)
    spec, vmax = model.manifest.input, float(model.manifest.thresholds.reject)
    maps = [anomaly_map for start in range(0, len(images), 4) for anomaly_map in model.run(prepare_batch(images[start : start + 4], spec)).maps]
    return [Evidence(image, anomaly_map, spec, vmax) for image, anomaly_map in zip(images, maps, strict=True)]


def _part(evidence: list[Evidence], seq: int, views: int) -> Pictures:
    if views == 1:
        return evidence[seq % len(evidence)]
    return PartEvidence(tuple((f"v{i}", evidence[(seq + i) % len(evidence)]) for i in range(views)), decisive="v0")


def _kept(stores: Stores, count: int) -> int:
    return sum(1 for d in stores.decisions.page(limit=count + 1, ascending=True) if d.heatmap_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pictures", type=int, default=150)
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between submitted pictures")
    parser.add_argument("--views", type=int, default=1, help="views per part (1: one camera's decision)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gaikan-bench-") as tmp:
        folder = Path(tmp)
        evidence = demo_evidence(folder / "demo")
        url = f"sqlite:///{folder / 'db.sqlite'}"
        stores = Stores.open(url)
        now = time.time()
        stored = stores.decisions.append(
            [
                DecisionRecord(frame_id=f"b:{i}", camera_id="b", captured_at=now, decided_at=now, decision=Outcome.REJECT, reason=Reason.SCORE)
                for i in range(args.pictures)
            ]
        )
        metrics = Metrics()
        writer = EvidenceProcess(folder / "images", url, metrics, budget_bytes=1 << 34, max_backlog=64)
        writer.start()
        time.sleep(5)  # the process has imported what it needs
        assert writer.pid is not None
        before, submitting = cpu_seconds(writer.pid), time.process_time()
        for decision in stored:
            writer.submit(decision.seq, _part(evidence, decision.seq, args.views))
            time.sleep(args.interval)
        submitting = time.process_time() - submitting
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # every picture written or skipped
            writer.sync_counters()
            skipped = metrics.registry.get_sample_value("gaikan_evidence_skipped_total") or 0
            if _kept(stores, args.pictures) + skipped >= args.pictures:
                break
            time.sleep(0.1)
        spent = cpu_seconds(writer.pid) - before
        writer.stop()
        kept = _kept(stores, args.pictures)
        on_disk = sum(path.stat().st_size for path in (folder / "images").iterdir())
        stores.engine.dispose()
    print(
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, {args.views} view(s) a part: "
        f"evidence process {1000 * spent / max(kept, 1):.1f} ms CPU per {'part' if args.views > 1 else 'picture'}; "
        f"submitting side {1000 * submitting / args.pictures:.2f} ms; {kept}/{args.pictures} kept; "
        f"{on_disk / max(kept, 1) / 1024:.0f} KiB per part on disk"
    )


if __name__ == "__main__":
    main()
