"""A poll of a farm whose feeds all changed a little: the steady state of a long-running monitor.

News feeds change all day, and each poll of a changed feed re-reads its whole document, of which most
entries are already stored. One run, one generated farm (default 200 feeds x 50 items): each side polls
it once cold (untimed), then the farm gives every feed 5 new items (dropping 5 old ones) and each side
polls again, timed. pipeline runs ``pipeline poll --once --all`` (whole process, and the cycle's own
seconds); reader runs ``update_feeds(workers=8)`` in-process, as in bench_poll.py.

Usage: ``python bench/bench_poll_changed.py [--feeds 200] [--items 50] [--new 5] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_poll import pipeline_env, pipeline_poll
from feed_farm import start_farm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--new", type=int, default=5, help="new items per feed between the two polls")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=8, help="reader's update_feeds workers")
    args = parser.parse_args()
    logging.getLogger("reader").setLevel(logging.ERROR)
    from reader import make_reader

    ours: list[tuple[float, float, int]] = []
    theirs: list[tuple[float, int]] = []
    with start_farm(feeds=args.feeds, items=args.items) as farm:
        print(f"farm: {args.feeds} feeds x {args.items} items, {args.new} new per feed; {os.cpu_count()} cores")
        for r in range(args.rounds):
            with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
                env = pipeline_env(farm, Path(a))
                reader = make_reader(str(Path(b) / "reader.sqlite"))
                for url in farm.feed_urls:
                    reader.add_feed(url)
                pipeline_poll(env)
                reader.update_feeds(workers=args.workers)
                before = reader.get_entry_counts().total or 0
                farm.advance(items=args.new)
                seconds, summary = pipeline_poll(env)
                ours.append((seconds, float(summary["seconds"]), int(summary["articles_stored"])))  # type: ignore[arg-type]
                t0 = time.perf_counter()
                reader.update_feeds(workers=args.workers, scheduled=False)
                theirs.append((time.perf_counter() - t0, (reader.get_entry_counts().total or 0) - before))
                reader.close()
            print(f"round {r + 1}: pipeline {ours[-1][0]:.2f}s (cycle {ours[-1][1]:.2f}s, {ours[-1][2]} new) | "
                  f"reader {theirs[-1][0]:.2f}s ({theirs[-1][1]} new)")
    print()
    print("| changed poll | seconds | new articles |")
    print("|---|---|---|")
    print(f"| pipeline (whole process) | {statistics.median(o[0] for o in ours):.2f} | {ours[0][2]} |")
    print(f"| pipeline, the cycle alone | {statistics.median(o[1] for o in ours):.2f} | {ours[0][2]} |")
    print(f"| reader update_feeds(workers={args.workers}) | {statistics.median(t[0] for t in theirs):.2f} | "
          f"{theirs[0][1]} |")


if __name__ == "__main__":
    main()
