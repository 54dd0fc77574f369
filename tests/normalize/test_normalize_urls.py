"""Canonical URLs: examples and hypothesis properties."""

from __future__ import annotations

import random
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.normalize.urls import canonical_url, is_tracking_param

BASE = "https://feeds.example.org/world/rss.xml"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://ExAmple.COM:80/A/b?z=1&a=2&utm_source=x&UTM_Medium=y#frag", "http://example.com/A/b?a=2&z=1"),
        ("https://example.com:443/x", "https://example.com/x"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("http://user:secret@example.com/x", "http://example.com/x"),
        ("https://bücher.example/straße?q=ü", "https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%BC"),
        (
            "https://www.bbc.co.uk/news/world-47351337?at_medium=RSS&at_campaign=KARANGA",
            "https://www.bbc.co.uk/news/world-47351337",
        ),
        (
            "https://x.example/a?fbclid=1&gclid=2&mc_cid=3&mc_eid=4&_ga=5&igshid=6&ref_src=7&id=9",
            "https://x.example/a?id=9",
        ),
        ("https://x.example/a?ref=front&source=rss", "https://x.example/a?ref=front&source=rss"),
        ("  https://x.example/a/../b/./c  ", "https://x.example/b/c"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com./x", "https://example.com/x"),
        ("http://[::1]:80/x", "http://[::1]/x"),
    ],
)
def test_examples(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/politics/a?x=1", "https://feeds.example.org/politics/a?x=1"),
        ("story.html", "https://feeds.example.org/world/story.html"),
        ("//cdn.example.net/p", "https://cdn.example.net/p"),
        ("https://other.example/p", "https://other.example/p"),
    ],
)
def test_relative_urls_resolve_against_the_feed(url: str, expected: str) -> None:
    assert canonical_url(url, BASE) == expected


@pytest.mark.parametrize(
    "url",
    [
        "mailto:desk@example.org",
        "javascript:alert(1)",
        "tag:example.org,2024:1",
        "ftp://example.org/f",
        "",
        "   ",
        "http://",
        "http://[broken",
        "http://example.com:99999/",
        "not a url",
        "/relative/without/base",
        None,
    ],
)
def test_non_web_or_broken_input_gives_none(url: str | None) -> None:
    assert canonical_url(url) is None


def test_path_case_is_kept() -> None:
    assert canonical_url("https://Example.com/News/Article-ABC") == "https://example.com/News/Article-ABC"


def test_extra_tracking_parameters() -> None:
    assert canonical_url("https://x.example/a?src=feed&id=1", extra_tracking=["SRC"]) == "https://x.example/a?id=1"
    assert is_tracking_param("utm_whatever") and is_tracking_param("UTM%5Fsource") and not is_tracking_param("id")


# --- properties ------------------------------------------------------------------------------------------

_label = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=10)
_hosts = st.lists(_label, min_size=1, max_size=3).map(lambda ls: ".".join([*ls, "example"]))
_path_chars = st.sampled_from([*"abcXYZ019-_.~%20é/", "%7E", "%2F", "ü", "..", "."])
_paths = st.lists(_path_chars, max_size=8).map(lambda cs: "/" + "".join(cs))
_keys = st.sampled_from(["a", "b", "id", "page", "q", "utm_source", "utm_medium", "UTM_Campaign", "fbclid", "x y"])
_values = st.text(alphabet="abc123 +&=é%", max_size=5)
_params = st.lists(st.tuples(_keys, _values), max_size=5)
_fragments = st.one_of(st.just(""), st.text(alphabet="abc#?/=", max_size=6).map(lambda f: "#" + f))


def _quote(text: str) -> str:
    return text.replace("%", "%25").replace("&", "%26").replace("=", "%3D").replace("#", "%23").replace(" ", "+")


def _build(scheme: str, host: str, port: str, path: str, params: list[tuple[str, str]], fragment: str) -> str:
    query = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in params)
    return f"{scheme}://{host}{port}{path}{'?' + query if query else ''}{fragment}"


_urls = st.builds(
    _build,
    st.sampled_from(["http", "https", "HTTP", "Https"]),
    _hosts,
    st.sampled_from(["", ":8080"]),
    _paths,
    _params,
    _fragments,
)


@settings(max_examples=300, deadline=None)
@given(_urls)
def test_canonical_url_is_idempotent_and_clean(url: str) -> None:
    canon = canonical_url(url)
    assert canon is not None
    assert canonical_url(canon) == canon
    parts = urlsplit(canon)
    assert "#" not in canon
    assert parts.netloc == parts.netloc.lower()
    assert parts.scheme in {"http", "https"}
    assert not any(k.lower().startswith("utm_") or k.lower() == "fbclid" for k, _ in parse_qsl(parts.query, True))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["http", "https"]), _hosts, _paths, _params, st.randoms(use_true_random=False))
def test_equal_for_variants_of_one_url(
    scheme: str, host: str, path: str, params: list[tuple[str, str]], rnd: random.Random
) -> None:
    default_port = ":80" if scheme == "http" else ":443"
    shuffled = list(params)
    rnd.shuffle(shuffled)
    a = _build(scheme, host, "", path, params, "")
    b = _build(scheme.upper(), host.upper(), default_port, path, shuffled, "#section-2")
    c = _build(scheme, host, "", path, [*params, ("utm_source", "rss"), ("fbclid", "abc")], "")
    assert canonical_url(a) == canonical_url(b) == canonical_url(c)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80), st.one_of(st.none(), st.just(BASE), st.text(max_size=30)))
def test_never_raises_on_arbitrary_text(url: str, base: str | None) -> None:
    result = canonical_url(url, base)
    assert result is None or result.startswith(("http://", "https://"))
