"""Detection on real data: false alarms with no change in it, and delays for injected shifts.

Data: NewsArticles 2017 (3,824 real articles from 9 outlets, Dec 2016 - Mar 2017; tests-only data in
../shared/data, never shipped). Every article is tagged once with the seed themes.

1. False alarms, end to end: the articles are imported with their dates shuffled among them (so each
   day keeps its real volume but nothing changes over time) into a fresh SQLite database with
   ``pipeline import``'s code path, then ``pipeline detect`` runs over the whole span. Repeated for a few
   shuffles; alerts per theme and direction are reported per 90 windows.
2. False alarms, many shuffles: the same, counted in memory (one theme hit per article carrying it, the
   day's volume as n) and folded through ``pipeline.signals.run_series``, the code ``detect`` calls.
3. Delays: into the shuffled stream, articles carrying a theme are injected (written for this bench, see
   tests/support/synthetic.py) so that its prevalence doubles from a chosen day, on top of a baseline
   of about 6% (>= 4 expected hits on a typical day); or halves from a baseline of about 12%; or, for a
   theme with no baseline, 3 new articles a day from distinct sources. The delay is the number of
   windows from the change to the first alert in the right direction.

    python bench/eval_detection.py [--db-shuffles 3] [--shuffles 200] [--trials 200]
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.signals import SignalSettings, WindowCount, run_series  # noqa: E402
from pipeline.themes import compile_themes, load_theme_file  # noqa: E402

CSV = ROOT.parent / "shared" / "data" / "news" / "newsarticles-2017" / "NewsArticles.csv"
THEMES = ("returning_fighters", "propaganda_collapse", "territorial_focus")
FIRST_DAY = date(2016, 12, 1)


def load_articles() -> list[dict[str, object]]:
    rows = []
    with CSV.open(encoding="utf-8", errors="replace", newline="") as fh:
        for r in csv.DictReader(fh):
            raw = r["publish_date"].strip().split(" ")[0]
            try:
                y, m, d = (int(p) for p in raw.split("/"))
                day = date(y, m, d)
            except ValueError:
                continue
            if day < FIRST_DAY:
                continue  # three stray articles dated months before the rest
            link = r["article_source_link"]
            source = link.split("/")[2] if "//" in link else "unknown"
            rows.append({"day": day, "title": r["title"], "text": r["text"], "url": link, "source": source})
    return rows


def shuffled_days(rows: list[dict[str, object]], rng: random.Random) -> list[date]:
    days = [r["day"] for r in rows]
    rng.shuffle(days)
    return days  # type: ignore[return-value]


def window_counts(days: list[date], tags: list[set[str]], sources: list[str],
                  extra: dict[date, dict[str, list[str]]] | None = None) -> list[WindowCount]:
    """In-memory counts: per day, n articles, x per theme, distinct sources behind x."""
    n: Counter[date] = Counter(days)
    x: dict[tuple[str, date], list[str]] = defaultdict(list)
    for d, t, s in zip(days, tags, sources, strict=True):
        for theme in t:
            x[(theme, d)].append(s)
    for d, per_theme in (extra or {}).items():
        for theme, srcs in per_theme.items():
            n[d] += len(srcs)
            x[(theme, d)].extend(srcs)
    first, last = min(n), max(n)
    out = []
    d = first
    while d <= last:
        start = datetime(d.year, d.month, d.day, tzinfo=UTC)
        for theme in THEMES:
            srcs = x.get((theme, d), [])
            out.append(WindowCount(theme=theme, window_start=start, window_end=start + timedelta(days=1),
                                   x=len(srcs), n=n[d], sources=len(set(srcs)),
                                   x_top_source=max(Counter(srcs).values()) if srcs else 0))
        d += timedelta(days=1)
    return out


def count_alerts(decisions: list, windows: int) -> dict[tuple[str, str], int]:
    out: Counter[tuple[str, str]] = Counter()
    for dec in decisions:
        if dec.level == "alert":
            out[(dec.theme, dec.direction)] += 1
    return dict(out)


def db_false_alarms(rows: list[dict[str, object]], shuffles: int) -> None:
    import json

    from pipeline.backfill import import_lines
    from pipeline.config import load_config, load_theme_set
    from pipeline.service.detect import detect_period
    from pipeline.storage.db import Database
    from pipeline.storage.migrate import upgrade

    total: Counter[tuple[str, str]] = Counter()
    flagged: Counter[tuple[str, str]] = Counter()
    windows = 0
    for s in range(shuffles):
        rng = random.Random(1000 + s)
        days = shuffled_days(rows, rng)
        with tempfile.TemporaryDirectory() as tmp:
            cfg_path = Path(tmp) / "config.yaml"
            cfg_path.write_text(f"database:\n  url: sqlite:///{tmp}/eval.db\nsources: []\n"
                                f"themes: {ROOT / 'seeds' / 'themes.yaml'}\n")
            cfg = load_config(cfg_path)
            db = Database(cfg.database.url)
            upgrade(db)
            matcher = compile_themes(load_theme_set(cfg))
            lines = (json.dumps({"url": r["url"], "title": r["title"], "text": r["text"] or r["title"],
                                 "published": f"{d.isoformat()}T12:00:00Z", "source": r["source"]})
                     for r, d in zip(rows, days, strict=True))
            t0 = time.perf_counter()
            summary = import_lines(cfg, db, matcher, lines, origin="csv")
            first = datetime.combine(min(days), datetime.min.time(), tzinfo=UTC)
            end = datetime.combine(max(days), datetime.min.time(), tzinfo=UTC) + timedelta(days=1)
            result = detect_period(cfg, db, first=first, end=end, now=end + timedelta(days=1))
            db.dispose()
        windows += len(set(days))  # windows holding articles; empty days carry no information
        for a in result.alerts:
            total[(a["theme"], a["direction"])] += 1
            flagged[(a["theme"], a["direction"])] += int(bool(a["health_flag"]))
        print(f"  shuffle {s}: imported {summary.inserted} ({summary.clustered} clustered, {len(summary.errors)} "
              f"invalid) and detected over {(end - first).days} windows in {time.perf_counter() - t0:.1f} s: "
              f"{len(result.alerts)} alerts")
    print(f"end to end, {shuffles} shuffles, {windows} windows with articles: ")
    for theme in THEMES:
        for direction in ("rise", "fall"):
            k = total[(theme, direction)]
            print(f"  {theme:20} {direction:4}: {k} alerts ({flagged[(theme, direction)]} health-flagged) = "
                  f"{k * 90 / windows:.2f} per 90 windows")
    print(f"  composite new_phase: {total[('new_phase', 'rise')]}")


def memory_false_alarms(days_tags: tuple, rows: list, shuffles: int, settings: SignalSettings) -> None:
    tags, sources = days_tags
    total: Counter[tuple[str, str]] = Counter()
    windows = 0
    for s in range(shuffles):
        days = shuffled_days(rows, random.Random(5000 + s))
        counts = window_counts(days, tags, sources)
        windows += len(set(days))
        for key, k in count_alerts(run_series(counts, settings), 0).items():
            total[key] += k
    print(f"in memory, {shuffles} shuffles, {windows} windows with articles (run_series, as detect runs it):")
    for theme in THEMES:
        for direction in ("rise", "fall"):
            k = total[(theme, direction)]
            print(f"  {theme:20} {direction:4}: {k} alerts = {k * 90 / windows:.3f} per 90 windows")


def delays(days_tags: tuple, rows: list, trials: int, settings: SignalSettings) -> None:
    tags, sources = days_tags
    all_sources = sorted(set(sources))
    experiments = (
        ("doubling, baseline ~6%", "territorial_focus", "rise", 0.06, 2.0),
        ("halving, baseline ~12%", "territorial_focus", "fall", 0.12, 0.5),
        ("sparse: 3 a day, no baseline", "propaganda_collapse", "rise", 0.0, None),
    )
    for label, theme, direction, p0, factor in experiments:
        found: list[int] = []
        missed = 0
        expected_at_change: list[float] = []
        for t in range(trials):
            rng = random.Random(9000 + t)
            days = shuffled_days(rows, rng)
            volume = Counter(days)
            span = sorted(volume)
            change = span[rng.randint(30, len(span) - 12)]
            extra: dict[date, dict[str, list[str]]] = {}
            for d in span:
                k = volume[d]
                if factor is None:
                    add = 3 if d >= change else 0
                    srcs = rng.sample(all_sources, add)
                else:
                    rate = p0 * (factor if d >= change else 1.0)
                    # Injected hits make the theme's share `rate` of the day's (grown) volume.
                    add = sum(1 for _ in range(k) if rng.random() < rate / (1 - rate)) if rate < 1 else k
                    srcs = [rng.choice(all_sources) for _ in range(add)]
                if add:
                    extra[d] = {theme: srcs}
                if d == change:
                    expected_at_change.append(p0 * k)
            if factor is not None and factor < 1:
                # Halving: the theme must also lose from the real articles' share; they are few, leave them.
                pass
            counts = window_counts(days, tags, sources, extra)
            decisions = run_series(counts, settings)
            start = datetime(change.year, change.month, change.day, tzinfo=UTC)
            hits = sorted(d.window_start for d in decisions if d.theme == theme and d.direction == direction
                          and d.level == "alert" and d.window_start >= start)
            if hits:
                found.append((hits[0] - start).days + 1)  # 1 = flagged in the window of the change
            else:
                missed += 1
        med = statistics.median(found) if found else float("nan")
        within2 = sum(1 for f in found if f <= 2)
        print(f"  {label:32} {theme} {direction}: median delay {med} windows (1 = the change's own window), "
              f"flagged within 2: {within2}/{trials}, within 3: {sum(1 for f in found if f <= 3)}/{trials}, "
              f"missed within the stream: {missed}; typical expected hits/window at the change "
              f"{statistics.median(expected_at_change) if expected_at_change else 0:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db-shuffles", type=int, default=3)
    parser.add_argument("--shuffles", type=int, default=200)
    parser.add_argument("--trials", type=int, default=200)
    args = parser.parse_args()
    if not CSV.exists():
        sys.exit(f"test data not found: {CSV}")
    rows = load_articles()
    matcher = compile_themes(load_theme_file(ROOT / "seeds" / "themes.yaml"))
    tags = [{h.theme for h in matcher.match(str(r["text"]), str(r["title"]))} for r in rows]
    sources = [str(r["source"]) for r in rows]
    print(f"{len(rows)} dated articles over {len(set(r['day'] for r in rows))} days; theme hits: "
          f"{dict(Counter(t for ts in tags for t in ts))}")
    settings = SignalSettings()
    if args.db_shuffles:
        db_false_alarms(rows, args.db_shuffles)
    memory_false_alarms((tags, sources), rows, args.shuffles, settings)
    print("delays (in memory, run_series):")
    delays((tags, sources), rows, args.trials, settings)


if __name__ == "__main__":
    main()
