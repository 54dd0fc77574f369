"""Scoring the seed themes against labelled JSON-lines sets, for the theme tests."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from pipeline.themes import Matcher, compile_themes, load_theme_file

ROOT = Path(__file__).resolve().parents[2]
THEMES = ("returning_fighters", "propaganda_collapse", "territorial_focus")


@cache
def seeds() -> Matcher:
    return compile_themes(load_theme_file(ROOT / "seeds" / "themes.yaml"))


def carried(text: str, title: str = "") -> set[str]:
    return {h.theme for h in seeds().match(text, title)}


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def f1_per_theme(items: list[dict[str, Any]]) -> dict[str, tuple[float, float, float]]:
    """(precision, recall, F1) per seed theme; an empty denominator counts as 1.0."""
    out = {}
    for theme in THEMES:
        tp = fp = fn = 0
        for item in items:
            got = theme in carried(str(item["text"]))
            want = theme in item["themes"]
            tp += got and want
            fp += got and not want
            fn += want and not got
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        out[theme] = (p, r, 2 * p * r / (p + r) if p + r else 0.0)
    return out
