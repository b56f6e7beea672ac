"""Dependencies: the app's typed state and the caller's identity.

Units of work are opened by the handlers themselves (docs/decisions.md, "Transactions"):
``with state.sessions.begin() as session:`` to write, ``with state.sessions() as session:``
to read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.cloud_api.domain.access.auth import (
    OPERATOR,
    InstancePrincipal,
    OwnerPrincipal,
    authenticate_instance,
    authenticate_owner,
    check_operator,
)
from services.cloud_api.domain.access.browser_sessions import (
    BrowserSession,
    check_same_origin,
    session_by_cookie,
)
from services.cloud_api.domain.access.identity_provider import IdentityProvider
from services.cloud_api.domain.errors import NotAuthenticatedError
from services.cloud_api.domain.licensing.engine import LicenseEngine
from services.cloud_api.domain.reporting.summary import SummaryCache
from services.cloud_api.metrics import CloudMetrics
from services.cloud_api.settings import Settings
from services.common.audit_route import set_actor
from services.common.auth_header import bearer_token
from services.common.probe import ProbeConnections
from services.common.secrets import same_secret

SESSION_COOKIE = "__Host-license-sync-session"
"""The dashboard session: ``__Host-`` makes browsers take it only when Secure, for this
host alone (no Domain) and the whole path."""
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True, slots=True)
class CloudState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    """``sessions()`` reads, ``sessions.begin()`` writes (services.common.db.make_sessions)."""
    cache: LicenseEngine
    summaries: SummaryCache
    metrics: CloudMetrics
    probe: ProbeConnections
    identity_provider: IdentityProvider | None
    """None unless ``CLOUD_API_OIDC_ISSUER`` is set."""

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A session that reads one state throughout, for reads that take long: REPEATABLE
        READ on PostgreSQL; on SQLite (WAL) a read transaction is a snapshot already."""
        with self.sessions() as session:
            if self.engine.dialect.name == "postgresql":
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield session


# The two dependencies below are async so that FastAPI runs them on the event loop: a plain
# def would cost a worker-thread hop on every request for a dictionary lookup.


async def cloud_state(request: Request) -> CloudState:
    state: CloudState = request.app.state.cloud
    return state


StateDep = Annotated[CloudState, Depends(cloud_state)]


async def token_from(request: Request) -> str | None:
    return bearer_token(request.headers.get("authorization"))


TokenDep = Annotated[str | None, Depends(token_from)]

# Declares the bearer scheme in the OpenAPI description; tokens are checked by the domain.
owner_security_scheme = HTTPBearer(auto_error=False, description="an enterprise owner token")


# Each credential dependency names the caller for the audit log (services/common/audit_route.py).


async def require_operator(request: Request, state: StateDep, token: TokenDep) -> None:
    expected = state.settings.admin_token
    set_actor(request, check_operator(token, expected.get_secret_value() if expected else None))


# The caller is known in a read of its own, ended before the handler opens its unit of
# work: a write's lock is never taken for a caller not yet authenticated (nor held while
# a push body arrives), and a request never holds two pooled connections at once.
def require_owner(request: Request, state: StateDep, token: TokenDep) -> OwnerPrincipal:
    with state.sessions() as session:
        owner = owner_of_request(session, state, request, token)
    set_actor(request, owner.actor)
    return owner


def owner_of_request(
    session: Session, state: CloudState, request: Request, token: str | None
) -> OwnerPrincipal:
    """An owner token (scripts, sites without a provider) or else the dashboard session's
    cookie, which for a changing request must come with the session's CSRF token from
    this service's own origin."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if token is not None or not cookie:
        return authenticate_owner(session, token)
    return browser_session(session, state, request, cookie).owner


def browser_session(
    session: Session, state: CloudState, request: Request, cookie: str
) -> BrowserSession:
    browser = session_by_cookie(session, cookie)
    check_same_origin(
        browser,
        request.method,
        request.headers.get("origin"),
        expected_origin(state, request),
        request.headers.get(CSRF_HEADER),
    )
    return browser


def expected_origin(state: CloudState, request: Request) -> str:
    """The dashboard's origin: ``CLOUD_API_PUBLIC_URL``'s, else the one this request came
    to (scheme and Host header)."""
    base = state.settings.public_url or str(request.base_url)
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}"


def require_browser_session(request: Request, state: StateDep) -> BrowserSession:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise NotAuthenticatedError("this browser has no dashboard session", code="no_session")
    with state.sessions() as session:
        browser = browser_session(session, state, request, cookie)
    set_actor(request, browser.owner.actor)
    return browser


def require_owner_or_operator(
    request: Request, state: StateDep, token: TokenDep
) -> OwnerPrincipal | None:
    """The operator (None) or an owner; the route checks the owner's enterprise."""
    expected = state.settings.admin_token
    if token and expected and same_secret(token, expected.get_secret_value()):
        set_actor(request, OPERATOR)
        return None
    return require_owner(request, state, token)


def require_instance(request: Request, state: StateDep, token: TokenDep) -> InstancePrincipal:
    with state.sessions() as session:
        instance = authenticate_instance(session, token)
    set_actor(request, instance.actor)
    return instance


OperatorDep = Annotated[None, Depends(require_operator)]
OwnerDep = Annotated[OwnerPrincipal, Depends(require_owner)]
OwnerOrOperatorDep = Annotated[OwnerPrincipal | None, Depends(require_owner_or_operator)]
BrowserSessionDep = Annotated[BrowserSession, Depends(require_browser_session)]
InstanceDep = Annotated[InstancePrincipal, Depends(require_instance)]
