"""Settings of alert delivery: channels, routes, grouping, repeats, silences, retries (key ``alerts:``).

Durations take seconds (``90``), a short form (``30s``, ``5m``, ``4h``, ``1d``) or ISO 8601 (``PT30S``).
An example::

    alerts:
      channels:
        - {name: ops-webhook, type: webhook, url: "https://hooks.example.org/x", secret: "${WEBHOOK_SECRET}"}
        - {name: analysts, type: email, smtp_host: mail.example.org, smtp_port: 587, starttls: true,
           username: monitor, password: "${SMTP_PASSWORD}", sender: monitor@example.org, to: [a@example.org]}
        - {name: daily, type: email, digest: true, digest_at: "07:00", sender: monitor@example.org, to: [b@example.org]}
        - {name: chat, type: apprise, urls: ["tgram://bottoken/ChatID"]}
      routes:                       # first match wins unless `continue: true`; none configured: every channel
        - {themes: ["returning_*"], directions: [rise], channels: [ops-webhook], continue: true}
        - {severities: [critical], channels: [chat]}
      default_channels: null        # for alerts no route matched; null = every channel, [] = none
      group_wait: 0s                # alerts for one channel within this wait go out as one notification
      repeat_interval: null         # e.g. 24h: re-notify alerts still open after this
      max_age: 24h                  # retry transient failures this long, then the notification is dead
      silences:
        - {theme: territorial_focus, direction: fall, until: "2030-01-01T00:00:00Z", reason: known event}
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from pipeline.validation import HttpURL

_SHORT_DURATION = re.compile(
    r"^\s*(-?\d+(?:\.\d+)?)\s*(ms|s|secs?|seconds?|m|mins?|minutes?|h|hours?|d|days?|w|weeks?)\s*$", re.IGNORECASE
)
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


def _parse_duration(value: Any) -> Any:
    """Accept ``30s``/``5m``/``4h``/``1d`` (or spelt out) besides what pydantic reads (seconds, ISO 8601)."""
    if not isinstance(value, str):
        return value
    m = _SHORT_DURATION.match(value)
    if m:
        unit = m.group(2).lower()
        key = "ms" if unit == "ms" else ("m" if unit.startswith("m") else unit[0])
        return timedelta(seconds=float(m.group(1)) * _UNIT_SECONDS[key])
    text = value.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return timedelta(seconds=float(text))
    if text.upper().lstrip("-").startswith("P") or ":" in text:
        return value  # ISO 8601 or [-][DD]D[,][HH:MM:]SS: pydantic reads these
    raise ValueError(f"not a duration: {value!r}; use seconds (90), 30s, 5m, 4h, 1d or ISO 8601 (PT30S)")


def _non_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError("a duration must not be negative")
    return value


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("a duration must be positive")
    return value


Duration = Annotated[timedelta, BeforeValidator(_parse_duration), AfterValidator(_non_negative)]
PositiveDuration = Annotated[timedelta, BeforeValidator(_parse_duration), AfterValidator(_positive)]


def _aware(value: datetime) -> datetime:
    # A silence without a zone would be read differently on every host: demand one.
    if value.tzinfo is None:
        raise ValueError("give a time zone (e.g. 2030-01-01T00:00:00Z)")
    return value.astimezone(UTC)


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


def _no_newlines(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("must not contain line breaks")
    return value


HeaderSafe = Annotated[str, AfterValidator(_no_newlines)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _ChannelBase(_Strict):
    name: str = Field(min_length=1, max_length=100, pattern=_NAME, description="unique; routes refer to it")
    enabled: bool = True
    timeout: PositiveDuration = Field(default=timedelta(seconds=10), description="limit of one delivery attempt")
    group_wait: Duration | None = Field(default=None, description="overrides alerts.group_wait for this channel")
    digest: bool = Field(default=False, description="one message a day listing the day's alerts")
    digest_at: time = Field(default=time(0, 0), description="UTC time of day the digest goes out")

    @field_validator("digest_at")
    @classmethod
    def _utc_time(cls, v: time) -> time:
        if v.tzinfo is not None and v.utcoffset() not in (None, timedelta(0)):
            raise ValueError("digest_at is a UTC time of day; give it without an offset")
        return v.replace(tzinfo=None)


class WebhookChannel(_ChannelBase):
    """An HTTP POST of the versioned JSON payload, signed by the Standard Webhooks convention."""

    type: Literal["webhook"]
    url: HttpURL = Field(min_length=1)
    secret: str | None = Field(default=None, description="whsec_<base64>; unsigned when absent")
    headers: dict[str, HeaderSafe] = Field(default_factory=dict, description="extra request headers")

    @field_validator("secret")
    @classmethod
    def _whsec(cls, v: str | None) -> str | None:
        if v is None:
            return None
        raw = v.removeprefix("whsec_")
        try:
            key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("must be whsec_ followed by base64") from None
        if len(key) < 16:
            raise ValueError("the secret must decode to at least 16 bytes")
        return v


class EmailChannel(_ChannelBase):
    """A multipart (plain text + HTML) email through SMTP."""

    type: Literal["email"]
    smtp_host: str = Field(default="localhost", min_length=1)
    smtp_port: int = Field(default=25, ge=1, le=65535)
    starttls: bool = Field(default=False, description="upgrade the connection with STARTTLS")
    tls: bool = Field(default=False, description="implicit TLS from the first byte (usually port 465)")
    tls_verify: bool = Field(default=True, description="check the server's certificate")
    ca_file: str | None = Field(default=None, description="a CA bundle to check the server against")
    username: str | None = None
    password: str | None = None
    sender: HeaderSafe = Field(min_length=3)
    to: list[HeaderSafe] = Field(min_length=1)
    subject_prefix: HeaderSafe = "[pipeline]"

    @model_validator(mode="after")
    def _one_tls_mode(self) -> Self:
        if self.starttls and self.tls:
            raise ValueError("choose starttls or tls (implicit), not both")
        if (self.username is None) != (self.password is None):
            raise ValueError("give both username and password, or neither")
        return self


class AppriseChannel(_ChannelBase):
    """Any service Apprise knows (Slack, Teams, Telegram, Matrix, ...), one URL per target."""

    type: Literal["apprise"]
    urls: list[str] = Field(min_length=1)


ChannelSettings = Annotated[WebhookChannel | EmailChannel | AppriseChannel, Field(discriminator="type")]


class Route(_Strict):
    """Alerts matching every given filter go to ``channels`` (an empty filter matches anything)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    themes: list[str] = Field(default_factory=list, description="theme ids or shell patterns (returning_*)")
    directions: list[Literal["rise", "fall"]] = Field(default_factory=list)
    severities: list[str] = Field(default_factory=list)
    kinds: list[Literal["theme", "sparse", "composite"]] = Field(default_factory=list)
    channels: list[str] = Field(min_length=1)
    continue_: bool = Field(default=False, alias="continue", description="keep matching the routes below")


class SilenceRule(_Strict):
    """Mute a theme (optionally one direction) until a time."""

    theme: str = Field(min_length=1, description="a theme id or shell pattern")
    direction: Literal["rise", "fall"] | None = None
    starts_at: AwareDatetime | None = None
    until: AwareDatetime
    reason: str = Field(min_length=1)


class AlertSettings(_Strict):
    """Everything under ``alerts:`` in config.yaml."""

    channels: list[ChannelSettings] = Field(default_factory=list)
    routes: list[Route] = Field(default_factory=list)
    default_channels: list[str] | None = Field(
        default=None, description="channels for alerts no route matched: null = every channel"
    )
    group_wait: Duration = Field(default=timedelta(0), description="alerts within this wait become one message")
    max_group_size: int = Field(default=50, ge=1, description="most alerts listed in one notification")
    repeat_interval: PositiveDuration | None = Field(default=None, description="re-notify alerts still open")
    silences: list[SilenceRule] = Field(default_factory=list)
    max_age: PositiveDuration = Field(default=timedelta(hours=24), description="retry this long, then give up")
    retry_initial: PositiveDuration = Field(default=timedelta(seconds=30), description="first retry delay")
    retry_max: PositiveDuration = Field(default=timedelta(hours=1), description="longest delay between tries")
    lease: PositiveDuration = Field(default=timedelta(minutes=5), description="how long a claim is held")
    top_articles: int = Field(default=5, ge=0, le=50, description="articles listed per alert")

    @model_validator(mode="after")
    def _names_resolve(self) -> Self:
        names = [c.name for c in self.channels]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"channel name used twice: {', '.join(dupes)}")
        known = set(names)
        for i, r in enumerate(self.routes):
            unknown = [c for c in r.channels if c not in known]
            if unknown:
                raise ValueError(f"routes[{i}]: unknown channel {', '.join(unknown)}")
        unknown = [c for c in self.default_channels or [] if c not in known]
        if unknown:
            raise ValueError(f"default_channels: unknown channel {', '.join(unknown)}")
        for c in self.channels:
            # A claim must outlive the attempt it covers, or a slow send would be taken over mid-flight.
            if self.lease < 2 * c.timeout:
                raise ValueError(f"lease ({self.lease}) must be at least twice channel {c.name!r}'s timeout")
        return self

    def channel(self, name: str) -> WebhookChannel | EmailChannel | AppriseChannel | None:
        """The channel called ``name``, or None."""
        return next((c for c in self.channels if c.name == name), None)

    def group_wait_for(self, name: str) -> timedelta:
        c = self.channel(name)
        return c.group_wait if c is not None and c.group_wait is not None else self.group_wait
