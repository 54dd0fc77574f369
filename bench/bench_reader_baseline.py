"""Baseline: the `reader` library (PyPI) updating the feed farm; the figures our poller must beat.

1. a cold update of every feed (all 200s; every entry new), timed, entries stored and entries/s;
2. a second update of the unchanged farm (conditional GET: all 304s), timed;
3. an update after every feed gained a few new items (changed bodies, few new entries), timed.

Usage: ``python bench/bench_reader_baseline.py [--feeds 200] [--items 50] [--workers 8]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from reader import __version__ as reader_version
from reader import make_reader

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feed_farm import start_farm


def main() -> None:
    parser = argparse.ArgumentParser(description="Time the reader library on the generated feed farm.")
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--new-items", type=int, default=5, help="items added to each feed before the 3rd update")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    # reader's feedparser call is not given the Content-Type, so it logs a survivable
    # NonXMLContentType "bozo" warning for every feed; it changes nothing stored.
    logging.getLogger("reader").setLevel(logging.ERROR)

    started = time.perf_counter()
    with start_farm(feeds=args.feeds, items=args.items) as farm, tempfile.TemporaryDirectory() as tmp:
        print(f"reader {reader_version}, workers={args.workers}, load average {os.getloadavg()[0]:.2f}")
        print(f"farm: {args.feeds} feeds x {args.items} items at {farm.base_url} (ready in "
              f"{time.perf_counter() - started:.1f} s)")  # fmt: skip
        reader = make_reader(str(Path(tmp) / "reader.sqlite"))
        for url in farm.feed_urls:
            reader.add_feed(url)

        before = farm.stats()
        t0, c0 = time.perf_counter(), time.process_time()
        reader.update_feeds(workers=args.workers)
        cold, cold_cpu = time.perf_counter() - t0, time.process_time() - c0
        entries = reader.get_entry_counts().total or 0
        after_cold = farm.stats()
        print(
            f"cold update:      {cold:7.2f} s  {entries} entries stored  {entries / cold:8.0f} entries/s  "
            f"{args.feeds / cold:6.1f} feeds/s  cpu {cold_cpu:.2f} s  ({after_cold['ok'] - before['ok']} x 200)"
        )

        t0, c0 = time.perf_counter(), time.process_time()
        reader.update_feeds(workers=args.workers, scheduled=False)  # not due yet: force it
        unchanged, unchanged_cpu = time.perf_counter() - t0, time.process_time() - c0
        after_unchanged = farm.stats()
        print(
            f"unchanged update: {unchanged:7.2f} s  {args.feeds / unchanged:8.1f} feeds/s  cpu {unchanged_cpu:.2f} s  "
            f"({after_unchanged['not_modified'] - after_cold['not_modified']} x 304, "
            f"{after_unchanged['ok'] - after_cold['ok']} x 200)"
        )

        farm.advance(items=args.new_items)
        t0, c0 = time.perf_counter(), time.process_time()
        reader.update_feeds(workers=args.workers, scheduled=False)
        changed, changed_cpu = time.perf_counter() - t0, time.process_time() - c0
        added = (reader.get_entry_counts().total or 0) - entries
        print(
            f"changed update:   {changed:7.2f} s  {added} new entries  {args.feeds / changed:8.1f} feeds/s  "
            f"cpu {changed_cpu:.2f} s  "
            f"({farm.stats()['ok'] - after_unchanged['ok']} x 200)"
        )
        reader.close()


if __name__ == "__main__":
    main()
