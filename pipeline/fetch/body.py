"""Reading a response body under a size cap that applies to the *decoded* bytes.

httpx's own decoders inflate each network chunk in one call, so one 64 KiB chunk of a gzip bomb
can become ~64 MiB in memory before anything could count it.  Here the raw stream is inflated with
zlib's ``max_length``, never producing more than the bytes still allowed (plus one, to tell "at the
cap" from "over it"), so memory stays bounded by the cap whatever the compression ratio.  Only the
encodings we advertise (gzip, deflate) are accepted.
"""

from __future__ import annotations

import zlib

import httpx

from pipeline.errors import BodyTooLarge, FetchError

_IDENTITY = frozenset({"", "identity"})
_GZIP = frozenset({"gzip", "x-gzip"})


class _Inflater:
    """Incremental gzip/deflate decoder whose every call returns at most ``room + 1`` bytes."""

    def __init__(self, encoding: str) -> None:
        self._deflate = encoding == "deflate"
        # +16: gzip header and trailer; plain MAX_WBITS: zlib-wrapped deflate.
        self._obj = zlib.decompressobj(zlib.MAX_WBITS | (0 if self._deflate else 16))
        self._started = False

    def feed(self, data: bytes, room: int) -> bytes:
        try:
            out = self._obj.decompress(data, room + 1)
        except zlib.error:
            # Some servers send raw deflate (no zlib wrapper) under "deflate"; retry once that way.
            if not (self._deflate and not self._started):
                raise
            self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._obj.decompress(data, room + 1)
        self._started = True
        return out

    def finish(self) -> bytes:
        # feed() never stopped short (that raises BodyTooLarge), so all input is consumed and this is
        # at most what zlib still buffers, normally nothing.
        return self._obj.flush()


async def read_body(response: httpx.Response, *, limit: int) -> bytes:
    """The decoded body of a streamed ``response``; raises :class:`BodyTooLarge` past ``limit`` bytes.

    Reading stops as soon as the cap is passed; the caller closes the response.
    """
    url = response.request.url
    if response.is_stream_consumed:
        # Already read and decoded by httpx (a transport that returns in-memory content, such as
        # httpx.MockTransport): only the cap is left to check.
        if len(response.content) > limit:
            raise BodyTooLarge(f"GET {url}: body of {len(response.content)} bytes is over the {limit}-byte cap")
        return response.content
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding not in _IDENTITY and encoding not in _GZIP and encoding != "deflate":
        raise FetchError(f"GET {url}: unsupported Content-Encoding {encoding!r}", status=None)
    inflater = None if encoding in _IDENTITY else _Inflater(encoding)

    declared = response.headers.get("content-length", "")
    if inflater is None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"GET {url}: body of {int(declared)} bytes (Content-Length) is over the {limit}-byte cap")

    what = "body" if inflater is None else f"decoded ({encoding}) body"
    chunks: list[bytes] = []
    total = 0
    try:
        async for raw in response.aiter_raw():
            data = raw if inflater is None else inflater.feed(raw, limit - total)
            total += len(data)
            if total > limit:
                raise BodyTooLarge(f"GET {url}: {what} is over the {limit}-byte cap (stopped reading)")
            chunks.append(data)
        if inflater is not None:
            tail = inflater.finish()
            total += len(tail)
            if total > limit:
                raise BodyTooLarge(f"GET {url}: {what} is over the {limit}-byte cap (stopped reading)")
            chunks.append(tail)
    except zlib.error as exc:
        raise FetchError(f"GET {url}: corrupt {encoding} body: {exc}") from exc
    return b"".join(chunks)
