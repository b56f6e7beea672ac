"""What both of the agent's clients need to tell a certificate problem from others."""

from __future__ import annotations

import ssl


def is_certificate_problem(error: BaseException) -> bool:
    """True when verification of the server's certificate failed, at any depth of the
    exception chain (httpx wraps the ``ssl`` error)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def reason(error: BaseException) -> str:
    return str(error) or type(error).__name__


def trust_store(ca_bundle: str | None) -> ssl.SSLContext | bool:
    """The CA file's certificates alone, or (None) the default trust store."""
    if ca_bundle is None:
        return True
    return ssl.create_default_context(cafile=ca_bundle)
