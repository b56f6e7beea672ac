"""The export file of the closed-network path: a report wrapped with an Ed25519 signature
over its canonical serialization, so that an edited file is refused (SPEC section 3)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any, Literal

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.report import canonical_bytes, describe_validation_error

EXPORT_FORMAT = "ghes-license-usage"
EXPORT_VERSION = 1


class ExportFileError(ValueError):
    """An export file that cannot be trusted. ``code`` is the machine word for it."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class Signature(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    alg: Literal["ed25519"]
    key_id: str = Field(min_length=1, max_length=64)
    value: str = Field(min_length=1, max_length=200)


class ExportFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["ghes-license-usage"]
    version: Literal[1]
    report: dict[str, Any]
    signature: Signature


def public_key_text(key: Ed25519PrivateKey) -> str:
    """The raw 32-byte public key, base64."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def load_public_key(text: str) -> Ed25519PublicKey:
    """Raises ValueError unless ``text`` is a base64 raw Ed25519 public key."""
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError("the public key is not base64") from None
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def key_id(public_key: str) -> str:
    """A short fingerprint that names the key a file was signed with."""
    return hashlib.sha256(base64.b64decode(public_key)).hexdigest()[:16]


def sign_report(report: dict[str, Any], key: Ed25519PrivateKey) -> bytes:
    """The export file for ``report``, as bytes ready to write."""
    signature = key.sign(canonical_bytes(report))
    document = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "report": report,
        "signature": {
            "alg": "ed25519",
            "key_id": key_id(public_key_text(key)),
            "value": base64.b64encode(signature).decode("ascii"),
        },
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2)


def read_export(body: bytes) -> ExportFile:
    """Parse the wrapper (not yet the report, not yet the signature)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise ExportFileError("invalid_export", f"the file is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise ExportFileError("invalid_export", "the file must hold a JSON object")
    if document.get("format") != EXPORT_FORMAT:
        raise ExportFileError(
            "invalid_export", f"format must be {EXPORT_FORMAT!r}: this is not an export file"
        )
    if document.get("version") != EXPORT_VERSION:
        raise ExportFileError(
            "unsupported_version",
            f"export file version {document.get('version')!r} is not supported "
            f"(this service reads version {EXPORT_VERSION})",
        )
    try:
        return ExportFile.model_validate(document)
    except ValidationError as error:
        raise ExportFileError("invalid_export", describe_validation_error(error)) from None


def verify_export(export: ExportFile, public_key: str) -> None:
    """Raise unless the report is exactly what the holder of ``public_key`` signed."""
    if export.signature.key_id != key_id(public_key):
        raise ExportFileError(
            "signature_invalid",
            f"the file was signed with key {export.signature.key_id}, not with this "
            f"instance's registered key {key_id(public_key)}",
        )
    try:
        signature = base64.b64decode(export.signature.value, validate=True)
        load_public_key(public_key).verify(signature, canonical_bytes(export.report))
    except (binascii.Error, InvalidSignature):
        raise ExportFileError(
            "signature_invalid",
            "the signature does not match the report: the file was changed after it was signed",
        ) from None
