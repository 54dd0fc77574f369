"""Precision, recall and F1 per theme on a labelled JSONL set (default: the seed themes' dev set).

Usage: python bench/eval_themes.py [LABELLED.jsonl] [--themes seeds/themes.yaml] [--errors]

Each line is {"id", "text", "themes": [...]} (an optional "title" is matched too).
--errors also prints every false positive and false negative with its evidence.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.themes import Matcher, compile_themes, load_theme_file  # noqa: E402

DEFAULT_SET = ROOT.parent / "shared" / "data" / "themes" / "dev.jsonl"


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def evaluate(matcher: Matcher, items: list[dict[str, object]], *, show_errors: bool = False) -> dict[str, Counts]:
    """Per-theme counts of true/false positives and false negatives."""
    counts = {t.id: Counts() for t in matcher.themes}
    for item in items:
        hits = {h.theme: h for h in matcher.match(str(item["text"]), str(item.get("title") or ""))}
        gold = set(item.get("themes") or [])  # type: ignore[call-overload]
        for theme, c in counts.items():
            if theme in hits and theme in gold:
                c.tp += 1
            elif theme in hits:
                c.fp += 1
                if show_errors:
                    ev = "; ".join(f"{e.term}: {e.snippet}" for e in hits[theme].evidence)
                    print(f"FP {theme} {item['id']}: {item['text']}\n   evidence: {ev}")
            elif theme in gold:
                c.fn += 1
                if show_errors:
                    print(f"FN {theme} {item['id']}: {item['text']}")
    return counts


def load_items(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("labelled", nargs="?", type=Path, default=DEFAULT_SET)
    ap.add_argument("--themes", type=Path, default=ROOT / "seeds" / "themes.yaml")
    ap.add_argument("--errors", action="store_true", help="print every false positive and false negative")
    args = ap.parse_args()
    matcher = compile_themes(load_theme_file(args.themes))
    items = load_items(args.labelled)
    counts = evaluate(matcher, items, show_errors=args.errors)
    print(f"{len(items)} items from {args.labelled}")
    print(f"{'theme':<22}{'precision':>10}{'recall':>8}{'F1':>7}   tp  fp  fn")
    for theme, c in counts.items():
        print(f"{theme:<22}{c.precision:>10.3f}{c.recall:>8.3f}{c.f1:>7.3f}  {c.tp:>3} {c.fp:>3} {c.fn:>3}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
