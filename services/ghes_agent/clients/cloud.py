"""The agent's client of the cloud API.

Every push carries the agent's public key and an HTTP message signature made with it
(``shared.push_signatures``): once the cloud knows the key, a stolen token alone cannot push.

It honours ``HTTPS_PROXY``/``HTTP_PROXY`` and ``NO_PROXY`` (httpx reads them when no
transport is given) and trusts ``GHES_AGENT_CLOUD_CA_BUNDLE`` when set: corporate networks
reach the internet through a forward proxy, often one that inspects TLS with its own CA.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from services.ghes_agent.clients.tls import is_certificate_problem, reason, trust_store
from services.ghes_agent.domain.errors import AgentError, NotConnectedError
from services.ghes_agent.settings import AgentSettings
from shared import ErrorBody, UsageReceipt, public_key_text
from shared.push_signatures import sign_push


class CloudError(AgentError):
    """The cloud did not take the report. ``retryable``: worth sending again later (a 5xx,
    408 or 429 answer, or no answer at all)."""

    def __init__(
        self,
        error: str,
        detail: str,
        *,
        status: int | None = None,
        current_sequence: int | None = None,
        retry_after: str | None = None,
    ) -> None:
        self.message = (
            detail if status is None else f"the cloud answered {status} {error}: {detail}"
        )
        super().__init__(self.message, code=error)
        self.status = status
        self.retryable = status is None or status >= 500 or status in (408, 429)
        self.current_sequence = current_sequence
        self.retry_after = retry_after


class CloudClient:
    def __init__(
        self,
        base_url: str,
        instance_token: str,
        signing_key: Ed25519PrivateKey,
        *,
        timeout: float = 120.0,
        verify: ssl.SSLContext | bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = signing_key
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {instance_token}"},
            timeout=timeout,
            verify=verify,
            transport=transport,
        )

    async def __aenter__(self) -> CloudClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._client.aclose()

    async def push_report(self, body_gzip: bytes) -> UsageReceipt:
        """Send a gzip-compressed report, signed now; return the cloud's receipt or raise
        CloudError."""
        headers = {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "X-Agent-Public-Key": public_key_text(self._key),
        }
        request = self._client.build_request(
            "POST", "/server-usage", content=body_gzip, headers=headers
        )
        sign_push(request.method, str(request.url), request.headers, body_gzip, self._key)
        try:
            response = await self._client.send(request)
        except httpx.TimeoutException:
            raise CloudError("timeout", "the cloud did not answer in time") from None
        except httpx.TransportError as error:
            raise _transport_error(self.base_url, error) from None
        if response.is_success:
            return UsageReceipt.model_validate_json(response.content)
        raise _cloud_error(response)


def _transport_error(url: str, error: httpx.TransportError) -> CloudError:
    """No answer from the cloud, with what to check. All of these are retried: the network
    path or the proxy may come back, and a changed CA file is read on the next attempt."""
    if is_certificate_problem(error):
        return CloudError(
            "tls_verification_failed",
            f"TLS verification of {url} failed ({reason(error)}); if a TLS-inspecting proxy "
            "or an internal certificate authority issues the certificate the agent sees, set "
            "GHES_AGENT_CLOUD_CA_BUNDLE to that CA's certificate file (PEM)",
        )
    if isinstance(error, httpx.ProxyError):
        return CloudError(
            "proxy_refused",
            f"the proxy did not open a connection to {url} ({reason(error)}); check the "
            "proxy in HTTPS_PROXY/HTTP_PROXY and whether it allows the cloud's host",
        )
    return CloudError(
        "unreachable",
        f"cannot reach the cloud at {url} ({type(error).__name__}: {reason(error)}); check "
        "GHES_AGENT_CLOUD_URL, the network path and, if one is set, the proxy in "
        "HTTPS_PROXY/HTTP_PROXY (NO_PROXY lists the hosts reached without it)",
    )


def _cloud_error(response: httpx.Response) -> CloudError:
    status = response.status_code
    try:
        body = ErrorBody.model_validate_json(response.content)
        word, detail, current = body.error, body.detail, body.current_sequence
    except ValidationError:
        word, detail, current = (
            f"http_{status}",
            response.text[:200] or response.reason_phrase,
            None,
        )
    return CloudError(
        word,
        detail,
        status=status,
        current_sequence=current,
        retry_after=response.headers.get("retry-after"),
    )


def is_connected(settings: AgentSettings) -> bool:
    """Whether the agent is set up to send to the cloud (an export-only agent is not)."""
    return bool(settings.cloud_url) and settings.instance_token is not None


def cloud_client_factory(
    settings: AgentSettings,
    signing_key: Ed25519PrivateKey,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Callable[[], CloudClient]:
    """A new client per delivery. Checked then, not at start: an agent that only exports
    files for uploading by hand never needs the cloud."""

    def make() -> CloudClient:
        url, token = settings.cloud_url, settings.instance_token
        if not url or token is None:  # as is_connected() says
            raise NotConnectedError
        return CloudClient(
            url,
            token.get_secret_value(),
            signing_key,
            timeout=settings.http_timeout_seconds,
            verify=cloud_trust_store(settings),
            transport=transport,
        )

    return make


def cloud_trust_store(settings: AgentSettings) -> ssl.SSLContext | bool:
    """Read at each delivery: a file fixed after a failure is used by the next retry."""
    bundle = settings.cloud_ca_bundle
    try:
        return trust_store(str(bundle) if bundle is not None else None)
    except (OSError, ssl.SSLError) as error:
        raise CloudError(
            "cloud_ca_bundle_unreadable",
            f"GHES_AGENT_CLOUD_CA_BUNDLE={bundle} cannot be used ({reason(error)}): it must "
            "be a readable file of PEM certificates",
        ) from None
