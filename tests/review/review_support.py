"""Seed data for the review web tests: a database filled through the storage modules, as the stages write it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.alerts.raising import raise_intent
from pipeline.alerts.values import AlertIntent
from pipeline.config import Config
from pipeline.signals.types import Explanation
from pipeline.storage.alerts import review_alert
from pipeline.storage.articles import ArticleToStore, store_articles
from pipeline.storage.db import Database
from pipeline.storage.migrate import upgrade
from pipeline.storage.models import WindowCount
from pipeline.storage.signals import TOTAL, save_signal
from pipeline.storage.sources import FeedOutcome, SourceSpec, record_outcome, sync_sources
from pipeline.themes import compile_themes
from pipeline.timewindows import window_start
from pipeline.types import ArticleData

TOKEN = "s3cret-review-token"
NOW = datetime(2024, 5, 2, 9, 30, tzinfo=UTC)
ALERT_DAY = datetime(2024, 5, 1, tzinfo=UTC)
FIRST_DAY = datetime(2024, 4, 1, tzinfo=UTC)
HOSTILE_TITLE = '<script>alert("pwned")</script><img src=x onerror=alert(2)> Returned fighters & "families"'
HOSTILE_URL = "javascript:alert(3)"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

THEMES: list[dict[str, Any]] = [
    {"id": "returning_fighters", "label": "Returning fighters", "threshold": 1,
     "rules": [{"name": "returning fighters", "near": [["returning", "returned"], ["fighter*"]], "within": 4}]},
    {"id": "propaganda_collapse", "label": "Propaganda collapse", "threshold": 1,
     "rules": [{"name": "propaganda", "any": ["propaganda"]}]},
]


def make_config(url: str, token: str | None = TOKEN) -> Config:
    web: dict[str, Any] = {"token": token} if token is not None else {}
    return Config.model_validate({
        "database": {"url": url},
        "themes": THEMES,
        "web": web,
        "alerts": {"channels": [{"name": "ops", "type": "webhook", "url": "http://127.0.0.1:9/hook",
                                 "secret": SECRET}]},
    })


@dataclass(frozen=True)
class Seeded:
    """Ids of what the seed put in the database."""

    rise: int  # open rise alert with the full explanation and articles
    fall: int  # acked fall alert with a health flag
    sparse: int  # open sparse alert of another theme
    composite: int  # open composite alert
    sources: tuple[str, ...]


def explanation(**over: Any) -> dict[str, Any]:
    """A realistic explanation, built with the signals stage's own dataclass."""
    values: dict[str, Any] = dict(
        theme="returning_fighters", direction="rise", level="alert", method="cusum",
        window_start=ALERT_DAY, window_end=ALERT_DAY + timedelta(days=1), onset=ALERT_DAY - timedelta(days=2),
        observed_since_onset=27, expected_since_onset=9.0, ratio=3.0, ratio_interval=(1.91, 4.52),
        ratio_method="exact Poisson (Garwood) interval", window_x=12, window_n=100, window_proportion=0.12,
        window_interval=(0.0698, 0.1984), baseline_proportion=0.03, baseline_interval=(0.021, 0.0427),
        p0_tested=0.03, interval_method="Wilson score, 95%", baseline_first=datetime(2024, 4, 1, tzinfo=UTC),
        baseline_last=datetime(2024, 4, 26, tzinfo=UTC), baseline_windows=26, volume=100,
        baseline_mean_volume=97.5, volume_ratio=1.0256, phi=1.4, phi_baseline=1.38,
        rho=0.004, dispersion_windows=26, dispersion_model="volume", s=6.25, h=5.0, p_value=0.000123,
        p_value_method="one-sided beta-binomial tail", arl0_windows=1825.0,
        false_alarm_rate="about one false alarm every 5 years", arl0_method="Brook-Evans Markov chain",
        raw_x=15, raw_n=130, sources=4, health_flag=False, health_reason="",
        summary="returning_fighters rise (alert): 27 hits since 2024-04-29 vs 9.0 expected (3.00x)",
    )
    values.update(over)
    return Explanation(**values).to_dict()


def _article(source_id: int, ident: str, title: str, text: str, url: str | None, published: datetime,
             content_hash: str) -> ArticleData:
    return ArticleData(source_id=source_id, identity=ident, url=url, title=title, text=text, published_at=published,
                       fetched_at=published + timedelta(minutes=5), content_hash=content_hash)


def seed(db: Database, cfg: Config) -> Seeded:
    """Sources, articles with real theme hits, window counts, signals and four alerts, as the stages write them."""
    from pipeline.config import load_theme_set

    matcher = compile_themes(load_theme_set(cfg))
    day = timedelta(days=1)
    with db.session() as s:
        ids = sync_sources(s, [SourceSpec("Wire A", "https://a.example.org/feed"),
                               SourceSpec("Wire B", "https://b.example.org/rss")], FIRST_DAY)
        record_outcome(s, FeedOutcome(source_id=ids["Wire A"], polled_at=NOW - timedelta(minutes=10),
                                      next_poll_at=NOW + timedelta(minutes=20), ok=True, http_status=200, stored=3,
                                      warning="SAXParseException: mismatched tag\n"
                                              "1 of 4 entries not stored: entry has neither a title nor any text (1)"))
        record_outcome(s, FeedOutcome(source_id=ids["Wire B"], polled_at=NOW - timedelta(minutes=40),
                                      next_poll_at=NOW + timedelta(minutes=5), ok=False, http_status=503,
                                      error="<b>HTTP 503</b> from upstream", error_kind="http"))
        texts = [
            (ids["Wire A"], "a1", HOSTILE_TITLE,
             "Officials said several fighters returned to the region last week, and more returning fighters "
             "are expected before the trial begins.", HOSTILE_URL, "h1"),
            (ids["Wire A"], "a2", "Ministers debate policy",
             "Some returning fighters face prosecution, the minister said.", "https://a.example.org/2", "h2"),
            # A syndicated copy of a2 on another wire: one story, listed once.
            (ids["Wire B"], "b2", "Ministers debate policy",
             "Some returning fighters face prosecution, the minister said.", "https://b.example.org/2", "h2"),
        ]
        batch = []
        for k, (sid, ident, title, text, url, h) in enumerate(texts):
            hits = tuple(matcher.match(text, title))
            assert hits, f"seed article {ident} should carry a theme"
            batch.append(ArticleToStore(_article(sid, ident, title, text, url, ALERT_DAY + timedelta(hours=3 + k), h),
                                        hits=hits))
        store_articles(s, batch, now=NOW, window_of=lambda t: window_start(t, 24), similar=lambda a, b: False)

        # A month of counts and detector state for the chart.
        start = FIRST_DAY
        i = 0
        while start <= ALERT_DAY:
            x = 12 if start == ALERT_DAY else (3 if i % 3 else 2)
            for theme, xx in ((TOTAL, 100), ("returning_fighters", x)):
                s.add(WindowCount(theme=theme, window_start=start, window_end=start + day, x=xx, n=100,
                                  sources=min(xx, 4), raw_x=xx + 1, raw_n=130, sources_ok=2, sources_total=2,
                                  updated_at=NOW))
            s_rise = 6.25 if start == ALERT_DAY else (1.5 if start >= ALERT_DAY - 2 * day else 0.0)
            for direction, sv in (("rise", s_rise), ("fall", 0.4 if i % 5 == 0 else 0.0)):
                save_signal(s, theme="returning_fighters", window_start=start, direction=direction,
                            level="alert" if sv >= 5 else "none", s=sv, p0=0.03, phi=1.4, in_episode=sv >= 5,
                            state={}, decision={}, now=NOW)
            start += day
            i += 1

        def raise_one(intent: AlertIntent) -> int:
            alert_id = raise_intent(s, intent, cfg.alerts, now=NOW - timedelta(hours=1))
            assert alert_id is not None
            return alert_id

        rise = raise_one(AlertIntent(
            kind="theme", theme="returning_fighters", direction="rise", severity="warning",
            window_start=ALERT_DAY, window_end=ALERT_DAY + day, onset=ALERT_DAY - 2 * day, observed=0.12,
            expected=0.03, explanation=explanation()))
        fall_day = ALERT_DAY - 11 * day
        fall = raise_one(AlertIntent(
            kind="theme", theme="returning_fighters", direction="fall", severity="warning",
            window_start=fall_day, window_end=fall_day + day, onset=fall_day - day, observed=0.0,
            expected=0.03, health_flag=True, health_reason="only 1 of 2 sources polled fine",
            explanation=explanation(direction="fall", health_flag=True,
                                    health_reason="only 1 of 2 sources polled fine")))
        review_alert(s, fall, "ack", now=NOW - timedelta(minutes=30), note="<i>looked</i> at it", actor="ana")
        sparse = raise_one(AlertIntent(
            kind="sparse", theme="propaganda_collapse", direction="rise", severity="warning",
            window_start=ALERT_DAY - 6 * day, window_end=ALERT_DAY - 5 * day, onset=None, observed=4,
            expected=0.2, explanation={"method": "sparse", "window_x": 4, "window_n": 90, "p_value": 2e-6,
                                       "extra_note": "from three sources"}))
        composite = raise_one(AlertIntent(
            kind="composite", theme="new_phase", direction="rise", severity="critical",
            window_start=ALERT_DAY, window_end=ALERT_DAY + day, onset=ALERT_DAY - 2 * day, observed=2,
            expected=0, explanation={"rule_id": "new_phase", "label": "New phase", "members": [
                {"theme": "returning_fighters", "direction": "rise", "level": "alert",
                 "window_start": ALERT_DAY.isoformat(), "onset": (ALERT_DAY - 2 * day).isoformat()},
                {"theme": "propaganda_collapse", "direction": "rise", "level": "watch",
                 "window_start": ALERT_DAY.isoformat(), "onset": (ALERT_DAY - 6 * day).isoformat()}]}))
    return Seeded(rise=rise, fall=fall, sparse=sparse, composite=composite, sources=("Wire A", "Wire B"))


def migrate(database: Database) -> None:
    """Create the schema the way ``pipeline db upgrade`` does."""
    upgrade(database)
