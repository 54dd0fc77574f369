"""Pure decisions of alert routing: which channels, muted or not, when due, when repeated.

Prometheus Alertmanager is the model: routes are tried in order and the first match wins unless it says
``continue``; silences mute by matcher until a time; a channel's notifications wait ``group_wait`` so that
alerts arriving together go out together; open alerts are re-sent after ``repeat_interval``.
No session and no clock here: ``now`` is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Protocol

from pipeline.alerts.settings import ChannelSettings, Route, SilenceRule
from pipeline.alerts.values import SilenceRecord


class Routable(Protocol):
    """What routing looks at (an ``AlertIntent`` or an ``AlertRecord``)."""

    @property
    def kind(self) -> str: ...
    @property
    def theme(self) -> str: ...
    @property
    def direction(self) -> str: ...
    @property
    def severity(self) -> str: ...


def silences_from_config(rules: Iterable[SilenceRule]) -> list[SilenceRecord]:
    """Config silences as records (they have no id)."""
    return [SilenceRecord(None, r.theme, r.direction, r.starts_at, r.until, r.reason, "config") for r in rules]


def active_silence(alert: Routable, silences: Iterable[SilenceRecord], now: datetime) -> SilenceRecord | None:
    """The first silence muting ``alert`` at ``now``, or None."""
    for s in silences:
        if s.active(now) and fnmatchcase(alert.theme, s.theme) and s.direction in (None, alert.direction):
            return s
    return None


def _matches(route: Route, alert: Routable) -> bool:
    if route.themes and not any(fnmatchcase(alert.theme, p) for p in route.themes):
        return False
    if route.directions and alert.direction not in route.directions:
        return False
    if route.severities and alert.severity not in route.severities:
        return False
    return not route.kinds or alert.kind in route.kinds


def route(
    alert: Routable,
    routes: Sequence[Route],
    channels: Sequence[ChannelSettings],
    silences: Iterable[SilenceRecord],
    now: datetime,
    *,
    default_channels: Sequence[str] | None = None,
) -> list[str]:
    """Names of the enabled channels that get ``alert`` (none when a silence mutes it), in config order.

    With no routes every channel gets every alert. With routes, the first matching route wins unless it
    says ``continue``; an alert no route matches goes to ``default_channels`` (None: every channel).
    """
    enabled = [c.name for c in channels if c.enabled]
    if active_silence(alert, silences, now) is not None:
        return []
    if not routes:
        return enabled
    chosen: set[str] = set()
    matched = False
    for r in routes:
        if _matches(r, alert):
            matched = True
            chosen.update(r.channels)
            if not r.continue_:
                break
    if not matched:
        chosen = set(enabled if default_channels is None else default_channels)
    return [name for name in enabled if name in chosen]


def next_digest(now: datetime, channel: ChannelSettings) -> datetime:
    """The first time of day ``channel.digest_at`` (UTC) strictly after ``now``."""
    at = now.replace(
        hour=channel.digest_at.hour, minute=channel.digest_at.minute, second=channel.digest_at.second,
        microsecond=0,
    )
    return at if at > now else at + timedelta(days=1)


def delivery_due(
    now: datetime, channel: ChannelSettings, group_wait: timedelta, open_group_due: datetime | None
) -> datetime:
    """When a new delivery for ``channel`` may go out.

    A digest channel waits for its time of day. Otherwise the delivery joins the channel's group still
    waiting (``open_group_due`` in the future), or opens a new group that waits ``group_wait``; the
    dispatcher sends every due delivery of a channel as one notification.
    """
    if channel.digest:
        return next_digest(now, channel)
    if open_group_due is not None and open_group_due > now:
        return open_group_due
    return now + group_wait


def repeat_due(last_sent_at: datetime | None, repeat_interval: timedelta | None, now: datetime) -> bool:
    """Whether an open alert last sent at ``last_sent_at`` should be sent again."""
    return repeat_interval is not None and last_sent_at is not None and now - last_sent_at >= repeat_interval
