"""Reading a request body within limits counted on the streamed bytes themselves: uvicorn
sets no limit, and ``Content-Length`` may be absent or untrue."""

from __future__ import annotations

import zlib

from fastapi import Request

from services.cloud_api.domain.errors import (
    InvalidInputError,
    PayloadTooLargeError,
    UnsupportedMediaError,
)


async def read_body(request: Request, *, max_bytes: int, max_compressed_bytes: int) -> bytes:
    """The body, decoded."""
    _sent, body = await read_body_as_sent(
        request, max_bytes=max_bytes, max_compressed_bytes=max_compressed_bytes
    )
    return body


async def read_body_as_sent(
    request: Request, *, max_bytes: int, max_compressed_bytes: int
) -> tuple[bytes, bytes]:
    """The body as sent (what ``Content-Digest`` covers: still gzip-compressed, if it was)
    and decoded. Without a content coding both are the same bytes."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise UnsupportedMediaError(f"Content-Encoding {encoding!r} is not supported; use gzip")
    gzipped = encoding == "gzip"
    wire_limit = max_compressed_bytes if gzipped else max_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > wire_limit:
        raise PayloadTooLargeError(f"the body is larger than {wire_limit} bytes")
    decompressor = zlib.decompressobj(wbits=31) if gzipped else None
    chunks: list[bytes] = []
    sent: list[bytes] = []
    received = size = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > wire_limit:
            raise PayloadTooLargeError(f"the body is larger than {wire_limit} bytes")
        if decompressor is not None:
            sent.append(chunk)
            try:
                # max_length bounds what one chunk may expand to: a gzip bomb stops here.
                chunk = decompressor.decompress(chunk, max_bytes - size + 1)
            except zlib.error as error:
                raise InvalidInputError(f"the gzip body is corrupt: {error}") from None
            if decompressor.unconsumed_tail:
                raise PayloadTooLargeError(f"the decompressed body is larger than {max_bytes}")
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLargeError(f"the decompressed body is larger than {max_bytes} bytes")
        chunks.append(chunk)
    if decompressor is not None and not decompressor.eof:
        raise InvalidInputError("the gzip body is truncated")
    body = b"".join(chunks)
    return (b"".join(sent) if gzipped else body), body
