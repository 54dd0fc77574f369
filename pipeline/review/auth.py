"""Who may act: a bearer token compared in constant time (a pure decision)."""

from __future__ import annotations

import hmac
from typing import Literal

Verdict = Literal["ok", "disabled", "missing", "wrong"]


def configured_token(token: str | None) -> str | None:
    """The usable token: None when unset or blank (``${PIPELINE_WEB_TOKEN:-}`` gives an empty string)."""
    return token if token is not None and token.strip() else None


def check_bearer(authorization: str | None, token: str | None) -> Verdict:
    """Judge an ``Authorization`` header against the configured token.

    ``disabled`` when no token is configured (actions are then refused for everyone), ``missing`` without a
    bearer credential, ``wrong`` when it differs; the comparison takes the same time wherever they differ.
    """
    expected = configured_token(token)
    if expected is None:
        return "disabled"
    if not authorization:
        return "missing"
    scheme, _, given = authorization.strip().partition(" ")
    given = given.strip()
    if scheme.lower() != "bearer" or not given:
        return "missing"
    return "ok" if hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")) else "wrong"
