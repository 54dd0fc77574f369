"""The seed themes against THEMES.md: the seed report, the negatives, the dev set and paraphrases."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

from tests.support.theme_scores import THEMES, carried, f1_per_theme, load_jsonl, seeds

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
DATA = SHARED / "data"


def needs(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"test data not present: {path}")
    return path


def test_seed_themes_are_the_three_of_themes_md() -> None:
    assert [t.id for t in seeds().themes] == list(THEMES)
    assert [t.label for t in seeds().themes] == ["Returning fighters", "Propaganda collapse", "Territorial focus"]


def test_the_seed_report_carries_all_three_themes() -> None:
    lines = needs(SHARED / "seed-report.txt").read_text(encoding="utf-8").splitlines()
    title, text = lines[0], "\n".join(lines[1:])
    hits = {h.theme: h for h in seeds().match(text, title)}
    assert set(hits) == set(THEMES)
    combined = title + "\n\n" + text
    evidence = {t: " ".join(combined[e.start:e.end] for e in h.evidence) for t, h in hits.items()}
    assert "returning" in evidence["returning_fighters"]
    assert "collapse of the IS propaganda" in evidence["propaganda_collapse"]
    assert "territories" in evidence["territorial_focus"]


def test_the_seed_report_quotes_each_carry_their_theme() -> None:
    quotes = {
        "returning_fighters": "The principal threat emanates from IS militants returning to their countries or "
                              "moving to other regions.",
        "propaganda_collapse": "He drew attention to the collapse of the IS propaganda machine.",
        "territorial_focus": "The IS no longer focuses on capturing and retaining territories.",
    }
    for theme, quote in quotes.items():
        assert carried(quote) == {theme}, quote


@pytest.mark.parametrize("text", [
    # THEMES.md: what does not count, placed in articles that do mention the groups.
    "Refugees and displaced civilians returned home to Mosul after Islamic State was defeated there.",
    "Two fighter jets returned to their base after striking ISIS positions.",
    "Soldiers and veterans of the war on ISIS came back home to a parade.",
    "Recruits travelling to Syria to join the Islamic State were stopped at the border.",
    "ISIS released a new video, and its propaganda is growing online.",
    "Russian state propaganda about the fight against terrorism was widely mocked.",
    "A bridge collapsed in Genoa; police ruled out terrorism.",
    "The government collapsed amid a row over counter-terrorism laws.",
    "China and Vietnam traded accusations over territorial waters, while militants attacked elsewhere.",
    "Government forces took the town from rebel groups, ending a terrorist threat, officials said.",
    "The retailer lost market share in its home territory despite the terrorism scare.",
    "The humanitarian crisis deepened, and the crisis in Yemen is not about ISIS fighters returning.",
    "An Islamic State suicide bomber killed 30 worshippers at a mosque in Kabul.",
])
def test_themes_md_negatives_do_not_fire(text: str) -> None:
    assert carried(text) == set(), text


def test_dev_set_f1_per_theme_at_least_0_9() -> None:
    items = load_jsonl(needs(DATA / "themes" / "dev.jsonl"))
    assert len(items) == 52
    scores = f1_per_theme(items)
    for theme, (p, r, f1) in scores.items():
        assert f1 >= 0.9, f"{theme}: precision {p:.2f}, recall {r:.2f}, F1 {f1:.2f}"


def test_paraphrases_in_other_words() -> None:
    # Written for these tests in wording the dev set does not use: spelling, inflection and
    # group-name variants, and harder negatives. Not used to fit the rules.
    items = load_jsonl(Path(__file__).with_name("paraphrases.jsonl"))
    for theme, (p, r, f1) in f1_per_theme(items).items():
        assert f1 >= 0.85, f"{theme}: precision {p:.2f}, recall {r:.2f}, F1 {f1:.2f}"


def test_real_news_articles_spot_checks() -> None:
    path = needs(DATA / "news" / "newsarticles-2017" / "NewsArticles.csv")
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8", errors="replace", newline="") as f:
        rows = {r["article_id"]: r for r in csv.DictReader(f)}
    expected = {
        "1036": {"returning_fighters"},  # Tunisia divided over jihadists returning home
        # Fears of foreign fighters returning from Syria and Iraq; and its background box says "the group has
        # lost more than a quarter of its territory" (the same box in article 3346 carried territory before).
        "1581": {"returning_fighters", "territorial_focus"},
        "1897": {"territorial_focus"},  # Syrian regime recaptures Palmyra from ISIS
        "1378": {"territorial_focus"},  # Iraqi forces take control of Mosul airport
        "1": set(),  # DeVos confirmed as education secretary
    }
    for article_id, themes in expected.items():
        row = rows[article_id]
        assert carried(row["text"], row["title"]) == themes, row["title"]
    # Sanity: a few percent of the articles carry any theme, most of them naming the groups.
    hits = [carried(r["text"], r["title"]) for r in rows.values()]
    tagged = sum(1 for h in hits if h)
    assert 30 <= tagged <= 150
