"""Synthetic article streams for detection tests and benchmarks.

Each article is one theme sentence (or none) plus filler drawn at random from a
neutral vocabulary, so that every article is a distinct story for the near-duplicate
index. The theme sentences are written for this project, in the words THEMES.md uses.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

SENTENCES: dict[str, tuple[str, ...]] = {
    "territorial_focus": (
        "Islamic State militants seized the city of {place} and raised their flag over government buildings.",
        "Iraqi forces retook the last IS-held districts of {place}, ending the group's rule over the city.",
        "The Islamic State now holds less than five percent of the territory it once controlled around {place}.",
    ),
    "returning_fighters": (
        "Officials in {place} warned that foreign fighters of the Islamic State are returning home from Syria.",
        "Prosecutors in {place} charged returnees who had fought for ISIS in Iraq and Syria.",
        "{place} repatriated wives and children of Islamic State fighters from the al-Hol camp.",
    ),
    "propaganda_collapse": (
        "The Islamic State propaganda machine has collapsed, analysts in {place} said, with Amaq releases at a "
        "fraction of their 2015 peak.",
        "Europol took Amaq offline and removed thousands of ISIS accounts, officials in {place} said.",
        "IS media output has dwindled: its al-Naba newsletter has not appeared for weeks, researchers in {place} said.",
    ),
}
SEED_LIKE = (
    "The head of the UN Counter-Terrorism Office told the Security Council in {place} that the fight against the "
    "Islamic State is entering a new phase: the group no longer focuses on capturing and retaining territories, "
    "its propaganda output has collapsed, and the main threat now comes from foreign terrorist fighters returning "
    "to their home countries."
)
PLACES = (
    "Brussels",
    "Tunis",
    "Berlin",
    "Mosul",
    "Raqqa",
    "Marawi",
    "Paris",
    "Vienna",
    "Almaty",
    "Lagos",
    "Jakarta",
    "Madrid",
    "Cairo",
    "Nairobi",
    "Kabul",
    "Rome",
)
FILLER = [
    "market",
    "council",
    "budget",
    "rainfall",
    "harvest",
    "school",
    "hospital",
    "railway",
    "bridge",
    "election",
    "museum",
    "festival",
    "tourism",
    "weather",
    "coastline",
    "orchestra",
    "inflation",
    "export",
    "import",
    "farmers",
    "teachers",
    "nurses",
    "parliament",
    "committee",
    "report",
    "season",
    "river",
    "valley",
    "mountain",
    "village",
    "district",
    "province",
    "league",
    "stadium",
    "concert",
    "library",
    "airport",
    "harbour",
    "factory",
    "energy",
    "solar",
    "wind",
    "grid",
    "battery",
    "software",
    "startup",
    "bank",
    "loan",
    "savings",
    "pension",
    "housing",
    "rent",
    "traffic",
    "cycling",
    "marathon",
    "bakery",
    "vineyard",
    "fishermen",
    "forest",
    "wildlife",
    "garden",
    "exhibition",
    "painter",
    "novel",
    "poetry",
    "theatre",
]


def article_text(rng: random.Random, themes: tuple[str, ...] = (), *, seed_like: bool = False) -> str:
    place = rng.choice(PLACES)
    parts = [SEED_LIKE.format(place=place)] if seed_like else []
    parts += [rng.choice(SENTENCES[t]).format(place=place) for t in themes]
    words = [rng.choice(FILLER) for _ in range(rng.randint(60, 90))]
    parts.append(" ".join(words).capitalize() + ".")
    rng.shuffle(parts)
    return " ".join(parts)


def day_stream(
    day: date, rng: random.Random, *, total: int, hits: dict[str, int], sources: int = 9, seed_like: int = 0
) -> Iterator[dict[str, str]]:
    """One day's articles: ``hits[theme]`` carry that theme, ``seed_like`` carry all three, the rest none."""
    plan: list[tuple[tuple[str, ...], bool]] = [((), True)] * seed_like
    for theme, k in hits.items():
        plan += [((theme,), False)] * k
    plan += [((), False)] * max(0, total - len(plan))
    for i, (themes, seed) in enumerate(plan):
        at = datetime.combine(day, time(0), tzinfo=UTC) + timedelta(minutes=rng.randint(0, 1439))
        src = f"source-{(i + rng.randint(0, sources - 1)) % sources}"
        yield {
            "url": f"https://{src}.example/{day.isoformat()}/{i}-{rng.getrandbits(32):08x}",
            "title": f"Report {i} of {day.isoformat()}",
            "text": article_text(rng, themes, seed_like=seed),
            "published": at.isoformat(),
            "source": src,
        }
