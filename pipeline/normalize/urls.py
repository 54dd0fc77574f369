"""Canonical article URLs.

One story reached through different links (tracking parameters, parameter
order, default ports, upper-case hosts, fragments) gets one canonical URL, so
identity and de-duplication can rely on it.  w3lib does the heavy lifting
(percent-encoding, IDNA hosts, sorted query, dot segments); this module adds
what w3lib leaves out: resolving against the feed URL, refusing non-web
schemes, dropping credentials and default ports, and removing tracking
parameters.

Decision: anything that is not an absolute http(s) URL after resolution (a
``mailto:``, a ``tag:`` URI, garbage, an empty host, a bad port) yields
``None`` rather than an exception: feed links are untrusted and an odd link
must not cost the entry; callers that need a URL (imports) turn ``None`` into
an :class:`~pipeline.errors.InputError` naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url, url_query_cleaner

__all__ = ["TRACKING_PARAMS", "TRACKING_PREFIXES", "canonical_url", "is_tracking_param"]

_DEFAULT_PORTS = {"http": 80, "https": 443}

# Parameters that only say how a reader arrived, never which page it is.  Kept
# deliberately to names that are tracking-only everywhere; a bare ``ref`` or
# ``source`` is left alone because some sites use it to pick content, and
# merging two different articles is worse than missing one duplicate (the
# near-duplicate stage catches those anyway).  Compared case-insensitively.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        # ad-click identifiers
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid",
        "li_fat_id", "igshid", "igsh", "epik", "rb_clickid", "s_kwcid",
        # Google Analytics linker, Mailchimp, HubSpot, Marketo, Vero, Omeda
        "_ga", "_gl", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "__hstc", "__hssc", "__hsfp", "hsctatracking",
        "mkt_tok", "vero_id", "vero_conv", "oly_anon_id", "oly_enc_id", "wickedid",
        # news-site campaign tags (BBC/AT Internet and Xiti, Guardian, Yahoo/HuffPost, MSN, Adobe)
        "at_medium", "at_campaign", "at_custom1", "at_custom2", "at_custom3", "at_custom4", "at_ptr_name",
        "at_link_id", "at_link_origin", "at_link_type", "at_format", "at_bbc_team",
        "cmp", "cmpid", "ncid", "ocid", "s_cid", "ito", "xtor", "dicbo",
        # Twitter share links, Matomo/Piwik
        "ref_src", "ref_url", "pk_campaign", "pk_kwd", "pk_keyword", "pk_source", "pk_medium", "pk_content",
        "pk_cid",
    }
)  # fmt: skip
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "mtm_", "hsa_")


def is_tracking_param(name: str, extra: Iterable[str] = ()) -> bool:
    """True when a query parameter name (raw or percent-encoded) is a tracking tag."""
    key = unquote_plus(name).strip().lower()
    if key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES):
        return True
    return any(key == e.lower() for e in extra)


def canonical_url(url: str | None, base: str | None = None, *, extra_tracking: Iterable[str] = ()) -> str | None:
    """Return the canonical form of *url*, resolved against *base*, or None.

    Lower-case scheme and host (IDNA-encoded), no credentials, no default
    port, no fragment, no tracking parameters, remaining parameters sorted,
    path case kept.  None when the result is not an absolute http(s) URL.
    """
    if url is None:
        return None
    raw = url.strip()
    if not raw:
        return None
    try:
        if base:
            raw = urljoin(base.strip(), raw)
        parts = urlsplit(raw)
        scheme = parts.scheme.lower()
        host = parts.hostname  # lower-cased, without brackets or userinfo
        port = parts.port  # ValueError on a non-numeric or out-of-range port
    except ValueError:
        return None
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    host = host.rstrip(".")
    if not host or any(c in host for c in " \t\r\n/\\@"):
        return None
    if ":" in host:  # an IPv6 literal needs its brackets back
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    rebuilt = urlunsplit((scheme, netloc, parts.path, parts.query, ""))
    try:
        canon = canonicalize_url(rebuilt, keep_blank_values=True, keep_fragments=False)
    except (ValueError, UnicodeError):
        return None
    query = canon.partition("?")[2]
    if query:
        extra = tuple(extra_tracking)
        names = {kv.partition("=")[0] for kv in query.split("&") if kv}
        drop = [n for n in names if is_tracking_param(n, extra)]
        if drop:
            canon = url_query_cleaner(canon, drop, remove=True, unique=False)
    return canon
