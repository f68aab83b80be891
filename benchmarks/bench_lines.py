"""Several lines writing decisions to one PostgreSQL: commits per second and commit latency with
one writer and with `--writers` writers at once (each its own line, its own process, as one
service per line would), and the check that every line's seqs are 1..n without a gap.

    python benchmarks/bench_lines.py [--writers 2] [--seconds 10] [--batch 1]

Starts a throw-away PostgreSQL server (tests/postgres.py: initdb on a free loopback port, fsync
off; a production server keeps fsync on, which adds a WAL flush to every commit, shared by
commits that arrive together). Each writer appends `--batch` decisions per transaction (the recorder stores what has
queued, usually one decision at the rates of a line) through `DecisionStore.append`: the line's
counter row is moved and the rows inserted in one transaction. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.postgres


def writer(url: str, line: str, seconds: float, batch: int, start_at: float, results: multiprocessing.Queue) -> None:
    from gaikan.service.decision import Outcome, Reason
    from gaikan.service.records import DecisionRecord
    from gaikan.service.storage.database import connect
    from gaikan.service.storage.decisions import DecisionStore

    engine = connect(url)
    store = DecisionStore(engine, line=line)
    store.last_seq()  # connect before the clock starts
    while time.time() < start_at:
        time.sleep(0.001)
    latencies: list[float] = []
    end = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < end:
        t = time.time()
        records = [
            DecisionRecord(frame_id=f"{line}:{i + k}", camera_id="cam1", captured_at=t - 0.02, decided_at=t, decision=Outcome.PASS,
                           reason=Reason.SCORE, score=1.0, model_version="demo-1", stages_ms={"inference_ms": 9.0})
            for k in range(batch)
        ]  # fmt: skip
        began = time.perf_counter()
        store.append(records)
        latencies.append(time.perf_counter() - began)
        i += batch
    seqs = [d.seq for d in store.after(0, 10**7)]
    results.put((line, i, latencies, seqs == list(range(1, len(seqs) + 1)) and len(seqs) == i))
    engine.dispose()


def run(url: str, lines: list[str], seconds: float, batch: int) -> list[tuple[str, int, list[float], bool]]:
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue = context.Queue()
    start_at = time.time() + 3.0
    processes = [context.Process(target=writer, args=(url, line, seconds, batch, start_at, results)) for line in lines]
    for process in processes:
        process.start()
    found = [results.get(timeout=seconds + 120) for _ in processes]
    for process in processes:
        process.join()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args()

    from gaikan.service.storage.database import open_database
    from tests.postgres import temporary_postgres

    root = Path(tempfile.mkdtemp(prefix="gaikan-bench-lines-"))
    with temporary_postgres(root) as url:
        open_database(url).dispose()  # the schema, once
        print(f"PostgreSQL on loopback (fsync off), {args.batch} decision(s) per transaction, {args.seconds:.0f} s\n")
        print("| writers (lines) | decisions/s, all lines | per line | commit p50 / p99 | seqs 1..n per line, no gap |\n|---|---|---|---|---|")
        for count in (1, args.writers):
            lines = [f"w{count}-line-{k}" for k in range(count)]
            found = run(url, lines, args.seconds, args.batch)
            total = sum(n for _, n, _, _ in found)
            latencies = np.concatenate([np.asarray(lat) for _, _, lat, _ in found]) * 1000
            gapless = all(ok for _, _, _, ok in found)
            per_line = ", ".join(f"{n / args.seconds:.0f}" for _, n, _, _ in found)
            print(
                f"| {count} | {total / args.seconds:.0f} | {per_line} | {np.percentile(latencies, 50):.2f} / "
                f"{np.percentile(latencies, 99):.2f} ms | {'yes' if gapless else 'NO'} |"
            )


if __name__ == "__main__":
    main()
