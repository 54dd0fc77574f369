"""Theme tagging throughput on real full-length news articles, on one core.

Usage: python bench/bench_tagging.py [--themes seeds/themes.yaml] [--csv NewsArticles.csv] [--rounds 5]

Reads the NewsArticles data set (3,824 articles, Dec 2016 - Mar 2017) and times
Matcher.match(text, title) over every article, several rounds; prints articles/second for the
first (cold word cache) and the best round, the share of articles rejected by the prefilter,
and the hits per theme.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.themes import compile_themes, load_theme_file  # noqa: E402

DEFAULT_CSV = ROOT.parent / "shared" / "data" / "news" / "newsarticles-2017" / "NewsArticles.csv"


def load_articles(path: Path) -> list[tuple[str, str]]:
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8", errors="replace", newline="") as f:
        return [(row["title"] or "", row["text"] or "") for row in csv.DictReader(f)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--themes", type=Path, default=ROOT / "seeds" / "themes.yaml")
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    t0 = time.perf_counter()
    matcher = compile_themes(load_theme_file(args.themes))
    compile_ms = (time.perf_counter() - t0) * 1000
    articles = load_articles(args.csv)
    chars = sum(len(t) + len(x) for t, x in articles)
    print(
        f"{len(articles)} articles, {chars / len(articles):,.0f} characters on average; "
        f"{len(matcher.themes)} themes compiled in {compile_ms:.0f} ms"
    )

    # CPU time of this process is what one core spends; wall time also counts other processes.
    rates: list[tuple[float, float]] = []
    hits: Counter[str] = Counter()
    for r in range(args.rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        for title, text in articles:
            for hit in matcher.match(text, title):
                if r == 0:
                    hits[hit.theme] += 1
        rates.append((len(articles) / (time.process_time() - cpu), len(articles) / (time.perf_counter() - wall)))

    full = matcher.without_prefilter()
    cpu = time.process_time()
    for title, text in articles:
        full.match(text, title)
    full_rate = len(articles) / (time.process_time() - cpu)

    best = max(rates)
    print(
        f"articles/second: {best[0]:,.0f} per CPU-second, {best[1]:,.0f} by the wall clock "
        f"(best of {args.rounds} rounds; first, cold cache: {rates[0][0]:,.0f} per CPU-second)"
    )
    print(f"articles/second without the prefilter: {full_rate:,.0f} per CPU-second")
    print("hits per theme: " + ", ".join(f"{t.id}={hits[t.id]}" for t in matcher.themes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
