"""What the re-check queries cost on a big SQLite database.

    python benchmarks/bench_recheck.py [--decisions 1000000] [--fps 4] [--db /tmp/gaikan-bench-recheck.db]

Fills (once) a database with `--decisions` decisions at `--fps` parts per second ending now (90 %
pass, 4 % review, 6 % reject; one part in 50 re-checked), then times, for the last 8 hours (a
shift), the last 24 hours and everything: the summary (`Rechecks.summary`) and one page of the
queue with its pending count (`Rechecks.queue`). Prints Markdown.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from sqlalchemy import insert

from gaikan.service.line import Stores
from gaikan.service.rechecks import Rechecks
from gaikan.service.storage.schema import decisions, rechecks


def fill(stores: Stores, count: int, fps: float) -> None:
    rng = random.Random(0)
    start = time.time() - count / fps
    with stores.engine.begin() as connection:
        batch: list[dict[str, object]] = []
        for i in range(count):
            outcome = rng.choices(["pass", "review", "reject"], [0.90, 0.04, 0.06])[0]
            at = start + i / fps
            batch.append(
                dict(frame_id=f"cam:{i}", camera_id="cam", captured_at=at, decided_at=at, score=1.0, decision=outcome,
                     reason="score", model_version="v1" if i < count // 2 else "v2", latency_ms=10.0, stages_ms={})
            )  # fmt: skip
            if len(batch) == 20000:
                connection.execute(insert(decisions), batch)
                batch = []
        if batch:
            connection.execute(insert(decisions), batch)
        checked = rng.sample(range(1, count + 1), count // 50)
        connection.execute(
            insert(rechecks),
            [dict(seq=seq, verdict=rng.choice(["good", "defective"]), defect_type=rng.choice([None, "scratch"]),
                  checked_at=time.time(), checked_by="bench") for seq in checked],
        )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decisions", type=int, default=1_000_000)
    parser.add_argument("--fps", type=float, default=4.0)
    parser.add_argument("--db", type=Path, default=Path("/tmp/gaikan-bench-recheck.db"))
    args = parser.parse_args()
    stores = Stores.open(f"sqlite:///{args.db.resolve()}")
    if stores.decisions.last_seq() == 0:
        fill(stores, args.decisions, args.fps)
    service = Rechecks(stores.rechecks, stores.decisions, stores.versions, {})
    print(f"{stores.decisions.last_seq()} decisions at {args.fps:g} parts/s\n")
    print("| period | decisions in it | summary ms | queue page + pending count ms |")
    print("|---|---:|---:|---:|")
    for label, since in (("8 h", time.time() - 8 * 3600), ("24 h", time.time() - 24 * 3600), ("all", None)):
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            summary = service.summary(since=since, until=None, model=None)
            middle = time.perf_counter()
            service.queue(since=since, limit=20)
            timings.append(((middle - started) * 1000, (time.perf_counter() - middle) * 1000))
        best = min(timings)
        print(f"| {label} | {summary.total.inspected} | {best[0]:.0f} | {min(t[1] for t in timings):.0f} |")


if __name__ == "__main__":
    main()
