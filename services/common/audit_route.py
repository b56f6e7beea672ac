"""An acting route declares its audit action once, as a dependency:

    audit: Annotated[AuditContext, audited("server_instance.connect")]

and records its entry with it inside its unit of work. The declaration also shows in the
OpenAPI description as ``x-audit-action`` (:func:`declare_audit_actions`), where a test
walks every acting operation and checks that each leaves exactly that one entry.

The caller's credential dependency names the actor (:func:`set_actor`); the audit
dependency reads it, so it is declared after the credential in the handler's parameters.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the annotations of
# ``Audited.__call__`` at run time, and an instance has no module globals to resolve
# string annotations in.

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from services.common.audit_log import Actor, AuditContext
from services.common.observability import request_id

ACTION_KEY = "x-audit-action"
REFUSED_KEY = "x-audit-refused-action"


def set_actor(request: Request, actor: Actor) -> None:
    """Called by each credential dependency once it has accepted the caller."""
    request.state.audit_actor = actor


class Audited:
    """The dependency: this request's :class:`AuditContext`."""

    def __init__(self, action: str, refused: str | None = None) -> None:
        self.action = action
        self.refused = refused

    async def __call__(self, request: Request) -> AuditContext:
        actor = getattr(request.state, "audit_actor", None)
        if not isinstance(actor, Actor):
            raise RuntimeError(
                f"{self.action}: the audit dependency ran before the caller's credential "
                "was checked; declare it after the credential"
            )
        return AuditContext(self.action, actor, request_id.get(), self.refused)


def audited(action: str, *, refused: str | None = None) -> Any:
    """``Annotated[AuditContext, audited("category.verb")]`` in an acting handler."""
    return Depends(Audited(action, refused))


def declare_audit_actions(app: FastAPI) -> None:
    """Copies each route's declared action into its OpenAPI operation. Call it once the
    routers are included, before the app serves anything."""
    _declare(app.router.routes)


def _declare(routes: Sequence[BaseRoute]) -> None:
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's lazily included router
        if isinstance(included, APIRouter):
            _declare(included.routes)
        if not isinstance(route, APIRoute):
            continue
        declared = _declaration(route.dependant)
        if declared is not None:
            extra = {ACTION_KEY: declared.action}
            if declared.refused:
                extra[REFUSED_KEY] = declared.refused
            route.openapi_extra = {**(route.openapi_extra or {}), **extra}


def _declaration(dependant: Dependant) -> Audited | None:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, Audited):
            return dependency.call
        found = _declaration(dependency)
        if found is not None:
            return found
    return None
