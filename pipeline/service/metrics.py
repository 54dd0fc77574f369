"""Prometheus metrics: what the database holds, read at scrape time, plus the web's own counters.

The database is the state (the service holds nothing a restart would miss), so the gauges are computed
from it by a custom collector on every scrape; several workers sharing one database report the same numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pipeline.alerts.values import ALERT_STATUSES, DELIVERY_STATUSES
from pipeline.errors import StorageError
from pipeline.storage.db import Database
from pipeline.storage.review import MetricsSnapshot, metrics_snapshot

log = logging.getLogger(__name__)

# Listed even at zero, so a dashboard sees every series from the first scrape.
SOURCE_STATUSES = ("new", "ok", "not_modified", "error")
NOTIFICATION_STATUSES = ("pending", "sent", "dead")


def _labelled(name: str, doc: str, label: str, values: Mapping[str, int], known: Iterable[str]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for key in sorted(set(known) | set(values)):
        family.add_metric([key], float(values.get(key, 0)))
    return family


def _timestamp(name: str, doc: str, when: datetime | None) -> GaugeMetricFamily:
    # Absent (NaN would mislead alerting rules) until the first event: 0 means "never".
    return GaugeMetricFamily(name, doc, value=when.timestamp() if when is not None else 0.0)


def snapshot_metrics(snap: MetricsSnapshot) -> list[Metric]:
    """The metric families of one database snapshot (pure)."""
    return [
        GaugeMetricFamily("pipeline_database_up", "1 when the database answered this scrape", value=1.0),
        _labelled("pipeline_sources", "enabled sources by health status", "status", snap.sources_by_status,
                  SOURCE_STATUSES),
        GaugeMetricFamily("pipeline_sources_disabled", "sources kept but no longer polled",
                          value=float(snap.sources_disabled)),
        GaugeMetricFamily("pipeline_articles_stored", "articles in the database", value=float(snap.articles)),
        _labelled("pipeline_alerts", "raised alerts by review status", "status", snap.alerts_by_status,
                  ALERT_STATUSES),
        _labelled("pipeline_deliveries", "outbox rows (alert x channel) by status", "status",
                  snap.deliveries_by_status, DELIVERY_STATUSES),
        _labelled("pipeline_notifications", "notifications (messages to a channel) by status", "status",
                  snap.notifications_by_status, NOTIFICATION_STATUSES),
        _timestamp("pipeline_last_poll_timestamp_seconds", "when any source was last polled (0: never)",
                   snap.last_poll_at),
        _timestamp("pipeline_last_article_fetched_timestamp_seconds", "when the newest article was fetched "
                   "(0: never)", snap.last_fetched_at),
        _timestamp("pipeline_last_window_start_timestamp_seconds", "start of the newest counted window (0: none)",
                   snap.last_window_start),
    ]


class DatabaseCollector(Collector):
    """Reads :func:`metrics_snapshot` on every scrape; a database that does not answer gives up=0."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def collect(self) -> Iterable[Metric]:
        try:
            with self._db.session() as session:
                snap = metrics_snapshot(session)
        except StorageError as exc:
            log.warning("metrics: %s", exc)
            return [GaugeMetricFamily("pipeline_database_up", "1 when the database answered this scrape", value=0.0)]
        return snapshot_metrics(snap)

    def describe(self) -> Iterable[Metric]:
        # Describing without a query keeps registration from touching the database.
        return []


@dataclass(frozen=True, slots=True)
class WebMetrics:
    """The registry ``/metrics`` exposes and the counters the web increments."""

    registry: CollectorRegistry
    review_actions: Counter  # labels: action (ack, confirm, dismiss)
    auth_failures: Counter  # labels: reason (missing, wrong, disabled)


def build_metrics(db: Database) -> WebMetrics:
    """A fresh registry (not the process-global one, so several apps and tests do not collide)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(db))
    actions = Counter("pipeline_review_actions", "review actions taken through the web API", ["action"],
                      registry=registry)
    failures = Counter("pipeline_review_auth_failures", "refused review actions", ["reason"], registry=registry)
    for action in ("ack", "confirm", "dismiss"):
        actions.labels(action=action)
    for reason in ("missing", "wrong", "disabled"):
        failures.labels(reason=reason)
    return WebMetrics(registry=registry, review_actions=actions, auth_failures=failures)
