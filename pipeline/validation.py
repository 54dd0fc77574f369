"""Small validated types shared by the config schema's sections."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_HTTP_URL = re.compile(r"^https?://[^\s/]+", re.IGNORECASE)


def _http_url(value: str) -> str:
    if not _HTTP_URL.match(value):
        raise ValueError(f"must be an http(s) URL, got {value!r}")
    return value


HttpURL = Annotated[str, AfterValidator(_http_url)]
"""A string that must be an absolute http(s) URL (feeds, webhooks)."""
