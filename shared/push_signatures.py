"""HTTP Message Signatures (RFC 9421) on the agent's pushes, so that a stolen instance
token alone cannot push (SPEC section 7.5).

The agent signs with its Ed25519 key over the method, the path, the body's
``Content-Digest`` (RFC 9530, sha-256, of the bytes as sent: gzip-compressed) and a
``created`` time; ``keyid`` names the key as export files do (:func:`shared.key_id`).
``@path`` rather than ``@target-uri``: a TLS-terminating load balancer changes the scheme
and host the cloud sees, never the path. The signature is tagged, so that one made for
another purpose is never taken for a push's.

Both sides go through the ``http-message-signatures`` library. Verification here says
whether the request is what the key's holder sent and when; how old a push may be is the
cloud's policy.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from http_message_signatures import (
    ContentDigest,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)
from http_message_signatures.exceptions import HTTPMessageSignaturesException

from shared.signing import key_id, load_public_key, public_key_text

COVERED_COMPONENTS = ("@method", "@path", "content-digest")
SIGNATURE_TAG = "license-sync-push"
SIGNATURE_LABEL = "agent"


class PushSignatureError(ValueError):
    """A push whose signature does not prove it. ``code``: ``signature_missing``,
    ``signature_invalid`` or ``content_digest_mismatch``."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def sign_push(
    method: str,
    url: str,
    headers: MutableMapping[str, str],
    content: bytes,
    key: Ed25519PrivateKey,
    *,
    created: datetime | None = None,
) -> None:
    """Add ``Content-Digest``, ``Signature-Input`` and ``Signature`` to ``headers`` for a
    request of ``content`` (the body exactly as sent)."""
    own_id = key_id(public_key_text(key))
    keys = MappingKeyResolver(public_keys={}, private_keys={own_id: key})
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=keys)
    signer.sign(
        _Message(method, url, headers),
        key_id=own_id,
        created=created or datetime.now(UTC),
        label=SIGNATURE_LABEL,
        tag=SIGNATURE_TAG,
        covered_component_ids=COVERED_COMPONENTS,
        body=content,
    )


def is_signed(headers: Iterable[tuple[str, str]]) -> bool:
    return any(name.lower() in ("signature", "signature-input") for name, _ in headers)


def verify_push(
    method: str, url: str, headers: Iterable[tuple[str, str]], content: bytes, public_key: str
) -> datetime:
    """The signature's ``created`` time, once the request is proven to be what the holder of
    ``public_key`` sent: this method, this path, this body. Raises PushSignatureError."""
    fields = _ReadOnlyFields(list(headers))
    if not is_signed(fields.items()):
        raise PushSignatureError(
            "signature_missing",
            "this instance's pushes must carry an HTTP message signature made with its key "
            f"{key_id(public_key)} (Signature and Signature-Input headers)",
        )
    verifier = _Verifier(
        signature_algorithm=algorithms.ED25519,
        key_resolver=_InstanceKey(key_id(public_key), load_public_key(public_key)),
    )
    message = _Message(method, url, fields)
    try:
        (result,) = verifier.verify(
            message, max_age=None, expect_tag=SIGNATURE_TAG, require_components=COVERED_COMPONENTS
        )
    except (InvalidSignature, HTTPMessageSignaturesException) as error:
        raise PushSignatureError(
            "signature_invalid", f"the signature is not valid: {error}"
        ) from None
    try:
        ContentDigest.verify(result.covered_components['"content-digest"'], content)
    except InvalidSignature as error:
        raise PushSignatureError(
            "content_digest_mismatch",
            f"the body is not the one that was signed ({error}): it was changed on the way",
        ) from None
    created = result.parameters["created"]  # the library requires it, as an integer
    assert isinstance(created, int)
    return datetime.fromtimestamp(created, UTC)


class _Verifier(HTTPMessageVerifier):
    # Time is judged by the cloud's own policy, on the authenticated ``created`` value
    # verify_push returns; the library's own window (seconds of skew) would refuse first,
    # without saying which way the clock was off.
    max_clock_skew = timedelta(days=36500)


class _InstanceKey(HTTPSignatureKeyResolver):
    """The one key this instance's pushes may be signed with."""

    def __init__(self, own_id: str, public: Ed25519PublicKey) -> None:
        self.own_id = own_id
        self.public = public

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey:
        if key_id != self.own_id:
            raise InvalidSignature(
                f"it was made with key {key_id!r}, not with this instance's key {self.own_id}"
            )
        return self.public


@dataclass(frozen=True, slots=True)
class _Message:
    """The request as the library reads it: method, absolute URL, header fields."""

    method: str
    url: str
    headers: Any


class _ReadOnlyFields:
    """Received header lines, in order, for the verifier (which never writes)."""

    def __init__(self, lines: list[tuple[str, str]]) -> None:
        self._lines = lines

    def items(self) -> list[tuple[str, str]]:
        return self._lines

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for name, _ in self._lines))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(n.lower() == name.lower() for n, _ in self._lines)
