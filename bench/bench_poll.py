"""Poll throughput: ``pipeline poll --once --all`` (the whole process) vs the reader library, side by side.

One run, one generated farm (default 200 feeds x 50 items, served from a separate process on
127.0.0.1), fresh SQLite databases for each side:

1. pipeline: a cold poll of every feed (a subprocess, interpreter start-up included), then a
   second poll of the unchanged farm;
2. reader (PyPI): ``update_feeds(workers=8)`` on the same farm, cold, then unchanged.

Prints articles stored per second for each and the ratios the issue sets targets for:
pipeline/reader >= 3 on the cold poll, second poll <= 1/20 of the first.

Usage: ``python bench/bench_poll.py [--feeds 200] [--items 50] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feed_farm import Farm, start_farm

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = [sys.executable, "-m", "pipeline"]
# Fetches in flight, as many as reader's 8 worker threads. More buys nothing on one local host and costs
# CPU: httpcore 1.0's pool scans every connection on each request (200 feeds: 0.31 s of fetch CPU at 8,
# 1.16 s at 64).
FETCHES = 8


def pipeline_env(farm: Farm, tmp: Path) -> dict[str, str]:
    """A migrated SQLite database and a config listing every farm feed, in ``tmp``; the environment naming it."""
    cfg = tmp / "config.yaml"
    lines = [
        f"database:\n  url: sqlite:///{tmp / 'pipeline.db'}\nthemes: {ROOT / 'seeds' / 'themes.yaml'}\n"
        f"fetch:\n  allow_private_networks: true\n  max_per_host: {FETCHES}\n  max_concurrency: {FETCHES}\nsources:"
    ]
    lines += [f"  - name: feed{i}\n    url: {u}" for i, u in enumerate(farm.feed_urls)]
    cfg.write_text("\n".join(lines) + "\n")
    env = {**os.environ, "PIPELINE_CONFIG": str(cfg)}
    subprocess.run([*PIPELINE, "db", "upgrade"], check=True, env=env, capture_output=True)
    return env


def pipeline_poll(env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    """One ``pipeline poll --once --all --json`` process: its wall time and its summary."""
    t0 = time.perf_counter()
    out = subprocess.run([*PIPELINE, "poll", "--once", "--all", "--json"], check=True, env=env,
                         capture_output=True, text=True)
    return time.perf_counter() - t0, json.loads(out.stdout)


def pipeline_round(farm: Farm, tmp: Path) -> tuple[float, int, float, float, float]:
    env = pipeline_env(farm, tmp)
    cold, first = pipeline_poll(env)
    warm, second = pipeline_poll(env)
    assert second["articles_stored"] == 0, second
    return cold, first["articles_stored"], warm, first["seconds"], second["seconds"]


def reader_round(farm: Farm, tmp: Path, workers: int) -> tuple[float, int, float]:
    from reader import make_reader

    reader = make_reader(str(tmp / "reader.sqlite"))
    for url in farm.feed_urls:
        reader.add_feed(url)
    t0 = time.perf_counter()
    reader.update_feeds(workers=workers)
    cold = time.perf_counter() - t0
    stored = reader.get_entry_counts().total or 0
    t0 = time.perf_counter()
    reader.update_feeds(workers=workers, scheduled=False)
    warm = time.perf_counter() - t0
    reader.close()
    return cold, stored, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per side; medians are reported")
    parser.add_argument("--workers", type=int, default=8, help="reader's update_feeds workers")
    args = parser.parse_args()
    logging.getLogger("reader").setLevel(logging.ERROR)
    ours: list[tuple[float, int, float, float, float]] = []
    theirs: list[tuple[float, int, float]] = []
    with start_farm(feeds=args.feeds, items=args.items) as farm:
        print(
            f"farm: {args.feeds} feeds x {args.items} items; {os.cpu_count()} cores; "
            f"load average {os.getloadavg()[0]:.2f}"
        )
        for r in range(args.rounds):
            with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
                ours.append(pipeline_round(farm, Path(a)))
                theirs.append(reader_round(farm, Path(b), args.workers))
            print(
                f"round {r + 1}: pipeline cold {ours[-1][0]:.2f}s ({ours[-1][1]} articles), second "
                f"{ours[-1][2]:.3f}s | reader cold {theirs[-1][0]:.2f}s ({theirs[-1][1]} entries), "
                f"second {theirs[-1][2]:.3f}s"
            )
    p_cold = statistics.median(o[0] for o in ours)
    p_warm = statistics.median(o[2] for o in ours)
    r_cold = statistics.median(t[0] for t in theirs)
    r_warm = statistics.median(t[2] for t in theirs)
    p_rate = ours[0][1] / p_cold
    r_rate = theirs[0][1] / r_cold
    print()
    print("| | cold poll (s) | articles | articles/s | second poll (s) | second/cold |")
    print("|---|---|---|---|---|---|")
    print(
        f"| pipeline (whole process) | {p_cold:.2f} | {ours[0][1]} | {p_rate:,.0f} | {p_warm:.3f} | "
        f"1/{p_cold / p_warm:.0f} |"
    )
    print(
        f"| reader update_feeds(workers={args.workers}) | {r_cold:.2f} | {theirs[0][1]} | {r_rate:,.0f} | "
        f"{r_warm:.3f} | 1/{r_cold / r_warm:.0f} |"
    )
    c_cold = statistics.median(o[3] for o in ours)
    c_warm = statistics.median(o[4] for o in ours)
    print(f"| pipeline, the poll cycle alone (in-process) | {c_cold:.2f} | {ours[0][1]} | "
          f"{ours[0][1] / c_cold:,.0f} | {c_warm:.3f} | 1/{c_cold / c_warm:.0f} |")
    print(
        f"\npipeline/reader store rate: {p_rate / r_rate:.2f}x (target >= 3); "
        f"pipeline second/first: 1/{p_cold / p_warm:.1f} (target <= 1/20)"
    )


if __name__ == "__main__":
    main()
