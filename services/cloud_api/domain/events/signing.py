"""What a delivery carries besides its body: GitHub's webhook headers and signatures.

A receiver written for GitHub checks ``X-Hub-Signature-256`` (``sha256=`` and the lowercase
hex HMAC-SHA256 of the raw body, keyed by the hook's secret) and routes on
``X-GitHub-Event``; ``X-GitHub-Delivery`` is the GUID it deduplicates by. The legacy
``X-Hub-Signature`` (HMAC-SHA1) is sent too, as GitHub still does, for older receivers.
"""

from __future__ import annotations

import hashlib
import hmac

USER_AGENT = "GitHub-Hookshot/license-sync"
TARGET_TYPE = "enterprise"


def signature_256(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_1(secret: str, body: bytes) -> str:
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def delivery_headers(
    *, secret: str, body: bytes, event: str, guid: str, hook_id: int, enterprise_id: int
) -> dict[str, str]:
    return {
        "Accept": "*/*",
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-GitHub-Delivery": guid,
        "X-GitHub-Event": event,
        "X-GitHub-Hook-ID": str(hook_id),
        "X-GitHub-Hook-Installation-Target-ID": str(enterprise_id),
        "X-GitHub-Hook-Installation-Target-Type": TARGET_TYPE,
        "X-Hub-Signature": signature_1(secret, body),
        "X-Hub-Signature-256": signature_256(secret, body),
    }
