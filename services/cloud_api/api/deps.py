"""Dependencies: the app's typed state, the caller's identity, units of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.cloud_api.domain.access.auth import (
    InstancePrincipal,
    OwnerPrincipal,
    authenticate_instance,
    authenticate_owner,
    check_operator,
)
from services.cloud_api.domain.licensing.engine import LicenseEngine
from services.cloud_api.domain.reporting.summary import SummaryCache
from services.cloud_api.metrics import CloudMetrics
from services.cloud_api.settings import Settings
from services.common.probe import ProbeConnections


@dataclass(frozen=True, slots=True)
class CloudState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    cache: LicenseEngine
    summaries: SummaryCache
    metrics: CloudMetrics
    probe: ProbeConnections

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Commits when the block succeeds, rolls back when it raises."""
        with self.sessions.begin() as session:
            yield session


def cloud_state(request: Request) -> CloudState:
    state: CloudState = request.app.state.cloud
    return state


async def get_state(request: Request) -> CloudState:
    return cloud_state(request)


StateDep = Annotated[CloudState, Depends(get_state)]


def token_from(request: Request) -> str | None:
    return token_in(request.headers.get("authorization", ""))


def token_in(authorization: str) -> str | None:
    """``Bearer <t>`` or ``token <t>``: GitHub API clients send either."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() in ("bearer", "token") and value.strip():
        return value.strip()
    return None


async def bearer_token(request: Request) -> str | None:
    return token_from(request)


TokenDep = Annotated[str | None, Depends(bearer_token)]

# Declares the bearer scheme in the OpenAPI description; tokens are checked by the domain.
owner_security_scheme = HTTPBearer(auto_error=False, description="an enterprise owner token")


async def require_operator(state: StateDep, token: TokenDep) -> None:
    expected = state.settings.admin_token
    check_operator(token, expected.get_secret_value() if expected else None)


def require_owner(state: StateDep, token: TokenDep) -> OwnerPrincipal:
    with state.sessions() as session:
        return authenticate_owner(session, token)


def require_instance(state: StateDep, token: TokenDep) -> InstancePrincipal:
    with state.sessions() as session:
        return authenticate_instance(session, token)


OperatorDep = Annotated[None, Depends(require_operator)]
OwnerDep = Annotated[OwnerPrincipal, Depends(require_owner)]
InstanceDep = Annotated[InstancePrincipal, Depends(require_instance)]
