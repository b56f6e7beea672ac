"""The HTTP side of the failed-authentication limit (``auth_limit.py``), as plain ASGI
middleware around each service, outside the summary fast lane and inside the request
metrics (so that its answers are counted like any other)."""

from __future__ import annotations

from typing import Protocol

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import Table
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.auth_limit import FailedAuthLimit, Lock
from services.common.client_address import Network, client_address
from services.common.error_body import error_response

CREDENTIAL_HEADERS = (b"authorization", b"cookie")


class AuthLimitSettings(Protocol):
    """The settings both services have for it (``*_AUTH_FAILURE_LIMIT`` and so on)."""

    auth_failure_limit: int
    auth_failure_window_seconds: int

    def trusted_proxy_networks(self) -> tuple[Network, ...]: ...


def install_auth_limit(
    app: FastAPI,
    registry: CollectorRegistry,
    prefix: str,
    table: Table,
    settings: AuthLimitSettings,
) -> FailedAuthLimit:
    """The middleware and its metrics; the limit counts once the service's lifespan has
    bound it to the database (:meth:`FailedAuthLimit.bind`)."""
    limit = FailedAuthLimit(
        table,
        limit=settings.auth_failure_limit,
        window_seconds=settings.auth_failure_window_seconds,
    )
    failures = Counter(
        f"{prefix}_auth_failures_total",
        "Requests with credentials answered 401, counted against their client address",
        registry=registry,
    )
    limited = Counter(
        f"{prefix}_auth_rate_limited_total",
        "Requests answered 429: their client address failed authentication too often",
        registry=registry,
    )
    app.add_middleware(
        LimitFailedAuthentication,
        limit=limit,
        trusted_proxies=settings.trusted_proxy_networks(),
        failures=failures,
        limited=limited,
    )
    return limit


class LimitFailedAuthentication:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: FailedAuthLimit,
        trusted_proxies: tuple[Network, ...],
        failures: Counter,
        limited: Counter,
    ) -> None:
        self.app = app
        self.limit = limit
        self.trusted_proxies = trusted_proxies
        self.failures = failures
        self.limited = limited

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.limit.bound or not _has_credentials(scope):
            await self.app(scope, receive, send)
            return
        address = client_address(scope, self.trusted_proxies)
        lock = await self.limit.lock_on(address)
        if lock is not None:
            self.limited.inc()
            await _too_many(send, lock)
            return
        replaced = False

        async def counting_send(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] == 401:
                self.failures.inc()
                lock = await self.limit.record_failure(address)
                if lock is not None:  # beyond the limit: this attempt is answered 429
                    replaced = True
                    self.limited.inc()
                    await _too_many(send, lock)
            if not replaced:
                await send(message)

        await self.app(scope, receive, counting_send)


def _has_credentials(scope: Scope) -> bool:
    return any(name in CREDENTIAL_HEADERS for name, _ in scope["headers"])


async def _too_many(send: Send, lock: Lock) -> None:
    response = error_response(
        429,
        "rate_limited",
        "too many failed authentication attempts from this address; try again in "
        f"{lock.retry_after} s",
    )
    response.headers["Retry-After"] = str(lock.retry_after)
    await send({"type": "http.response.start", "status": 429, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})
