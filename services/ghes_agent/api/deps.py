from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.common.audit_route import set_actor
from services.common.auth_header import bearer_token
from services.common.secrets import same_secret
from services.ghes_agent.domain.audit import ADMIN
from services.ghes_agent.domain.errors import NotAuthenticatedError
from services.ghes_agent.jobs import DeliveryWorker, SyncRunner, WeeklySchedule
from services.ghes_agent.settings import AgentSettings


@dataclass(slots=True)
class AgentAppState:
    settings: AgentSettings
    engine: Engine
    sessions: sessionmaker[Session]
    server_id: str
    public_key: str
    signing_key: Ed25519PrivateKey
    admin_token: str
    runner: SyncRunner
    worker: DeliveryWorker
    schedule: WeeklySchedule | None


async def get_state(request: Request) -> AgentAppState:
    state: AgentAppState = request.app.state.agent
    return state


StateDep = Annotated[AgentAppState, Depends(get_state)]


async def require_admin(request: Request, state: StateDep) -> None:
    token = bearer_token(request.headers.get("authorization"))
    if token is None or not same_secret(token, state.admin_token):
        raise NotAuthenticatedError(
            "the agent's admin token is required (GHES_AGENT_ADMIN_TOKEN, or the admin_token "
            "file in the data directory)",
        )
    set_actor(request, ADMIN)  # who the audit log names


AdminDep = Annotated[None, Depends(require_admin)]
