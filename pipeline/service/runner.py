"""``pipeline run``: APScheduler ticks the jobs; which feed is due, and who has it, lives in the database.

The scheduler holds no state a restart would miss: every job asks the database what
is due (feeds by ``next_poll_at``, windows by their dirty marks, deliveries by
``next_attempt_at``), so a restart, or several workers on one PostgreSQL, lose nothing.
Each job catches its own errors: one failing job never stops the others.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler

if TYPE_CHECKING:
    from pipeline.config import Config
    from pipeline.service.workers import ServicePool
    from pipeline.storage.db import Database

log = logging.getLogger(__name__)


def _guarded(name: str, fn: Callable[[], object]) -> Callable[[], None]:
    def job() -> None:
        try:
            result = fn()
            log.debug("%s: %s", name, result)
        except Exception:  # the scheduler must keep ticking whatever one job does
            log.exception("%s failed", name)

    job.__name__ = name
    return job


def review_base_url(cfg: Config) -> str:
    """Where notifications link to: web.base_url, else the address the review page is served on."""
    return cfg.web.base_url or f"http://{cfg.web.host}:{cfg.web.port}"


def build_scheduler(cfg: Config, db: Database, pool: ServicePool | None = None) -> BackgroundScheduler:
    """The service's jobs; ``pool`` holds the poll's worker processes across cycles (the caller shuts it
    down after the scheduler)."""
    from pipeline.alerts import dispatch_once
    from pipeline.config import build_matcher
    from pipeline.service.detect import detect_due, detect_provisional
    from pipeline.service.poll import freeze_startup_heap, poll_once
    from pipeline.storage.articles import prune_articles

    matcher = build_matcher(cfg)
    freeze_startup_heap()
    now = datetime.now(UTC)

    def poll() -> object:
        summary = poll_once(cfg, db, matcher, pool=pool)
        if summary.feeds:
            log.info("poll: %d feeds, %d ok (%d unchanged), %d failed, %d new articles in %.1fs", summary.feeds,
                     summary.ok, summary.not_modified, summary.failed, summary.articles_stored, summary.seconds)
        return summary.to_dict()

    def detect() -> object:
        result = detect_due(cfg, db)
        if result.alerts:
            log.warning("detect: %d alerts raised: %s", len(result.alerts),
                        ", ".join(f"{a['theme']} {a['direction']}" for a in result.alerts))
        # The hourly provisional look at the open window: logged, never raised or stored.
        look = detect_provisional(cfg, db)
        rising = [d for d in look.latest if d["level"] in ("watch", "alert")]
        if rising:
            log.info("provisional (open window so far): %s", ", ".join(
                f"{d['theme']} {d['direction']} {d['level']} S={d['s']}" for d in rising))
        return result.to_dict()

    def dispatch() -> object:
        return dispatch_once(db, cfg.alerts, web_base_url=review_base_url(cfg)).as_dict()

    def retention() -> object:
        if cfg.service.retention_days is None:
            return "retention off"
        with db.session() as s:
            n = prune_articles(s, older_than=datetime.now(UTC) - timedelta(days=cfg.service.retention_days))
        return f"pruned {n} articles"

    # APScheduler logs every run at INFO; our jobs log what they did instead.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    sched = BackgroundScheduler(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1,
                                                            "misfire_grace_time": 300})
    sched.add_job(_guarded("poll", poll), "interval", seconds=cfg.service.tick_seconds, next_run_time=now,
                  id="poll")
    sched.add_job(_guarded("detect", detect), "interval", minutes=cfg.service.detect_interval_minutes,
                  next_run_time=now + timedelta(seconds=30), id="detect")
    sched.add_job(_guarded("dispatch", dispatch), "interval", seconds=cfg.service.dispatch_interval_seconds,
                  next_run_time=now + timedelta(seconds=5), id="dispatch")
    sched.add_job(_guarded("retention", retention), "interval", hours=24, next_run_time=now + timedelta(minutes=5),
                  id="retention")
    return sched


def run_service(cfg: Config, db: Database, *, web: bool = True, stop: threading.Event | None = None) -> None:
    """Start the scheduler and (unless ``web`` is False) serve the review page until interrupted."""
    # SIGTERM becomes SystemExit(0) in the main thread, so the `finally` below stops the scheduler
    # (finishing running jobs) instead of the process dying mid-transaction. uvicorn captures the
    # signal while serving and re-raises it after its own graceful shutdown, which lands here too.
    from pipeline.service.workers import ServicePool

    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    pool = ServicePool(cfg, db.url)
    sched = build_scheduler(cfg, db, pool)
    sched.start()
    log.info("service started: polling %d sources", len(cfg.sources))
    try:
        if web:
            serve_web(cfg, db)
        else:
            (stop or threading.Event()).wait()
    finally:
        sched.shutdown(wait=True)
        pool.shutdown()


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def serve_web(cfg: Config, db: Database) -> None:
    import uvicorn

    from pipeline.review.app import create_app

    uvicorn.run(create_app(cfg, db), host=cfg.web.host, port=cfg.web.port, log_level="warning")
