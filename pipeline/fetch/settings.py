"""Tunable settings of the fetch stage, with defaults fit for polling real news sites."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from pipeline import __version__

DEFAULT_USER_AGENT = f"pipeline/{__version__} (news threat-trend monitor; feed poller)"

# Feed formats first; a plain */* last so servers that only know text/html still answer.
DEFAULT_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/feed+json;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)


class FetchSettings(BaseModel):
    """How feeds are fetched (limits, timeouts, policy) and how often they are polled."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_concurrency: int = Field(default=32, ge=1, description="fetches in flight at once, over all hosts")
    max_per_host: int = Field(default=4, ge=1, description="fetches in flight at once to one host name")
    connect_timeout: float = Field(default=10.0, gt=0, description="seconds to open a connection")
    read_timeout: float = Field(default=30.0, gt=0, description="seconds of silence allowed while reading")
    write_timeout: float = Field(default=10.0, gt=0, description="seconds to send the request")
    pool_timeout: float = Field(default=30.0, gt=0, description="seconds to wait for a pooled connection")
    total_timeout: float = Field(
        default=60.0, gt=0, description="deadline in seconds for one whole fetch, redirects and body included"
    )
    keepalive_expiry: float = Field(default=30.0, ge=0, description="seconds an idle connection is kept")
    max_body_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1, description="cap on the decoded body size; larger bodies are refused"
    )
    max_redirects: int = Field(default=5, ge=0, description="redirect hops followed before giving up")
    user_agent: str = Field(default=DEFAULT_USER_AGENT, min_length=1)
    accept: str = Field(default=DEFAULT_ACCEPT, min_length=1, description="Accept header sent with every fetch")
    proxy: str | None = Field(default=None, description="HTTP(S) proxy URL; the environment is never read")
    allow_private_networks: bool = Field(
        default=False, description="allow loopback, private and link-local addresses (tests, intranet feeds)"
    )
    poll_interval: timedelta = Field(default=timedelta(minutes=30), gt=timedelta(0))
    backoff_max: timedelta = Field(
        default=timedelta(hours=24), gt=timedelta(0), description="longest wait after failures or Retry-After"
    )
    backoff_jitter: float = Field(
        default=0.1, ge=0, lt=1, description="backoff delays are shortened by up to this fraction at random"
    )
