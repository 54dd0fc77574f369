"""A long run in miniature: the service's poll and detection, cycle after cycle, on a farm that changes.

Users run the monitor for months, so what matters besides speed is that nothing grows without bound.
This drives what ``pipeline run`` schedules, in one process as the service does: ``poll_once`` with the
service's worker pool (kept across cycles) and ``detect_due``, against a generated farm in which every
feed gains new items between cycles. After each cycle it prints the articles stored, the cycle's time,
the resident memory of the main process and of the pool's workers, and the number of objects the
garbage collector tracks; at the end, how much each grew after the warm-up cycles.

Usage: ``python bench/soak_service.py [--cycles 60] [--feeds 100] [--items 50] [--new 10]``
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_poll import pipeline_env
from feed_farm import start_farm

WARM_UP = 5  # cycles before the baseline: caches, the pool's workers and SQLite's page cache fill up first


def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MB (Linux /proc)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (the fork server and the workers it started)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").iterdir():
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found += children
            todo += children
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=60)
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--new", type=int, default=10, help="new items per feed between cycles")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, start_farm(feeds=args.feeds, items=args.items) as farm:
        env = pipeline_env(farm, Path(tmp))
        from pipeline.config import build_matcher, load_config
        from pipeline.service.detect import detect_due
        from pipeline.service.poll import freeze_startup_heap, poll_once
        from pipeline.service.workers import ServicePool
        from pipeline.storage.db import Database

        cfg = load_config(env["PIPELINE_CONFIG"])
        db = Database(cfg.database.url)
        matcher = build_matcher(cfg)
        pool = ServicePool(cfg, db.url)
        freeze_startup_heap()
        rows: list[tuple[int, int, float, float, float, int, float]] = []
        print("| cycle | stored | seconds (detection) | main RSS (MB) | worker RSS, max (MB) | gc objects |")
        print("|---|---|---|---|---|---|")
        try:
            for cycle in range(args.cycles):
                started = time.perf_counter()
                summary = poll_once(cfg, db, matcher, all_sources=True, pool=pool)
                polled = time.perf_counter()
                detect_due(cfg, db)
                seconds, detect_seconds = time.perf_counter() - started, time.perf_counter() - polled
                gc.collect()
                workers = [rss_mb(p) for p in descendants(os.getpid())] or [0.0]
                row = (cycle, summary.articles_stored, seconds, rss_mb(os.getpid()), max(workers),
                       len(gc.get_objects()), detect_seconds)
                rows.append(row)
                if cycle < WARM_UP or cycle % 10 == 9 or cycle == args.cycles - 1:
                    cells = [str(row[0]), str(row[1]), f"{row[2]:.2f} ({row[6]:.2f})", f"{row[3]:.0f}", f"{row[4]:.0f}",
                             str(row[5])]
                    print("| " + " | ".join(cells) + " |", flush=True)
                farm.advance(items=args.new)
        finally:
            pool.shutdown()
            db.dispose()

    steady = rows[WARM_UP:]
    if len(steady) < 2:
        return
    half = len(steady) // 2
    first, last = steady[:half], steady[half:]

    def growth(i: int) -> str:
        return f"{statistics.median(r[i] for r in first):.0f} -> {statistics.median(r[i] for r in last):.0f}"

    print(f"\nafter {WARM_UP} warm-up cycles, medians of the first and second half of {len(steady)} cycles: "
          f"main RSS {growth(3)} MB, worker RSS {growth(4)} MB, gc objects {growth(5)}, "
          f"cycle seconds {statistics.median(r[2] for r in first):.2f} -> {statistics.median(r[2] for r in last):.2f} "
          f"(detection {statistics.median(r[6] for r in first):.2f} -> {statistics.median(r[6] for r in last):.2f})")


if __name__ == "__main__":
    main()
