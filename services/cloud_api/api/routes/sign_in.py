"""Owners signing in to the dashboard through the OpenID provider (README, "Signing in with
your identity provider"; docs/decisions.md, "Dashboard sessions").

``GET /auth/oidc/login?enterprise=`` sends the browser to the provider; the provider sends
it back to ``GET /auth/oidc/callback``, which starts a session when the person is an owner
of that enterprise; ``GET /auth/session`` tells the dashboard who is signed in (and the
CSRF token); ``POST /auth/sign-out`` ends the session on the server.
"""

from __future__ import annotations

import html
import logging
from datetime import timedelta
from importlib import resources
from string import Template
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import RedirectResponse

from services.cloud_api.api.deps import (
    SESSION_COOKIE,
    BrowserSessionDep,
    CloudState,
    StateDep,
    browser_session,
)
from services.cloud_api.api.errors import status_for
from services.cloud_api.domain.access import browser_sessions
from services.cloud_api.domain.access.browser_sessions import PendingSignIn, ReturningSignIn
from services.cloud_api.domain.access.identity_provider import Identity, IdentityProvider
from services.cloud_api.domain.access.owner_sign_in import admit_owner
from services.cloud_api.domain.errors import (
    DomainError,
    InvalidInputError,
    NotAuthenticatedError,
    NotFoundError,
)
from services.cloud_api.domain.events.audit import record_entry
from services.cloud_api.schemas import SessionPerson, SessionView, Slug
from services.common.audit_log import AuditContext
from services.common.audit_route import audited
from services.common.error_body import error_response
from services.common.observability import request_id
from services.common.pages import HEADERS
from services.common.threads import in_thread
from shared.errors import error_responses

log = logging.getLogger(__name__)

router = APIRouter(tags=["sign-in"])

SIGN_IN_COOKIE = "__Host-license-sync-sign-in"
CALLBACK_PATH = "/auth/oidc/callback"
PROBLEM_PAGE = Template(
    (resources.files("services.cloud_api.dashboard") / "sign_in_problem.html").read_text()
)


def _provider(state: CloudState) -> IdentityProvider:
    if state.identity_provider is None:
        raise NotFoundError(
            "sign-in through an identity provider is not configured here "
            "(CLOUD_API_OIDC_ISSUER): sign in with an owner token",
            code="identity_provider_not_configured",
        )
    return state.identity_provider


def _redirect_uri(state: CloudState, request: Request) -> str:
    base = state.settings.public_url or str(request.base_url)
    return base.rstrip("/") + CALLBACK_PATH


@router.get(
    "/auth/oidc/login",
    status_code=status.HTTP_303_SEE_OTHER,
    responses={**error_responses(404, 422, 502), 303: {"description": "to the provider"}},
)
async def start_sign_in(
    request: Request, state: StateDep, enterprise: Annotated[Slug, Query()]
) -> Response:
    """Sends the browser to the provider, with a fresh state, nonce and PKCE challenge,
    kept here for the browser's sign-in cookie to find when it comes back."""
    provider = _provider(state)
    redirect_uri = _redirect_uri(state, request)
    pending = await in_thread(_begin, state, enterprise, redirect_uri)
    url = await provider.authorization_url(pending, redirect_uri)
    response = RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER)
    # Lax, not Strict: the way back from the provider is a top-level navigation started
    # by another site, and the browser must send this cookie with it.
    response.set_cookie(
        SIGN_IN_COOKIE,
        pending.browser_secret,
        max_age=browser_sessions.SIGN_IN_MINUTES * 60,
        path="/",
        secure=True,
        httponly=True,
        samesite="lax",
    )
    return response


PAGE_STATUSES = {
    401: "The provider refused the sign-in, or its answer did not check out",
    403: "The person is not an owner of the enterprise",
    404: "Sign-in through an identity provider is not configured",
    422: "The callback's parameters do not belong to this browser's sign-in",
    502: "The identity provider did not answer as expected",
}


@router.get(
    CALLBACK_PATH,
    status_code=status.HTTP_303_SEE_OTHER,
    responses={
        303: {"description": "signed in: to the dashboard"},
        **{
            code: {"description": f"{text} (a page saying so)", "content": {"text/html": {}}}
            for code, text in PAGE_STATUSES.items()
        },
    },
)
async def finish_sign_in(
    request: Request,
    state: StateDep,
    code: Annotated[str | None, Query(max_length=4096)] = None,
    state_param: Annotated[str | None, Query(alias="state", max_length=256)] = None,
    iss: Annotated[str | None, Query(max_length=2048)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
    error_description: Annotated[str | None, Query(max_length=1024)] = None,
) -> Response:
    """Where the provider sends the browser back. Success: a session cookie and a redirect
    to the dashboard. Anything else: a page that says what went wrong, with a 4xx (502
    when the provider itself failed), and no session."""
    try:
        provider = _provider(state)
        if not state_param:
            raise _bad("the provider's answer has no state parameter", "state_missing")
        returning = await in_thread(
            _returning, state, request.cookies.get(SIGN_IN_COOKIE), state_param
        )
        if error is not None:
            described = f": {error_description}" if error_description else ""
            raise NotAuthenticatedError(
                f"the identity provider did not sign you in ({error}{described})",
                code="provider_refused",
            )
        if not code:
            raise _bad("the provider's answer has no code parameter", "code_missing")
        identity = await provider.identify(code, returning, iss)
        started = await in_thread(
            _start_owner_session, state, returning.enterprise_slug, identity, request_id.get()
        )
    except DomainError as failure:
        return _problem(failure)
    response = RedirectResponse("/dashboard", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SIGN_IN_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
    # Strict: no other site's page can make the browser send it, not even by a link.
    response.set_cookie(
        SESSION_COOKIE,
        started.cookie,
        max_age=state.settings.oidc_session_lifetime_seconds,
        path="/",
        secure=True,
        httponly=True,
        samesite="strict",
    )
    return response


def _bad(detail: str, code: str) -> DomainError:
    return InvalidInputError(detail, code=code)


# The database work of the two async routes above, each in a worker thread of its own
# (docs/decisions.md, "Transactions"): no transaction is open while the provider answers.


def _begin(state: CloudState, enterprise: str, redirect_uri: str) -> PendingSignIn:
    with state.sessions.begin() as session:
        return browser_sessions.begin_sign_in(session, enterprise, redirect_uri)


def _returning(state: CloudState, browser_secret: str | None, state_param: str) -> ReturningSignIn:
    with state.sessions.begin() as session:
        return browser_sessions.finish_sign_in(session, browser_secret, state_param)


def _start_owner_session(
    state: CloudState, slug: str, identity: Identity, request: str
) -> browser_sessions.StartedSession:
    lifetime = timedelta(seconds=state.settings.oidc_session_lifetime_seconds)
    with state.sessions.begin() as session:
        admission = admit_owner(session, slug, identity, lifetime, request)
    # Raised after the commit: a refusal is in the audit log.
    if admission.refusal is not None:
        raise admission.refusal
    assert admission.started is not None
    return admission.started


def _problem(failure: DomainError) -> Response:
    code = status_for(failure)
    log.info("sign-in refused: %s: %s", failure.error, failure.detail)
    title = {
        403: "You are not an owner of this enterprise",
        502: "The identity provider did not answer",
    }.get(code, "Sign-in did not complete")
    page = PROBLEM_PAGE.substitute(
        title=html.escape(title),
        detail=html.escape(failure.detail),
        error=html.escape(failure.error),
    )
    response = Response(page, status_code=code, media_type="text/html; charset=utf-8")
    response.headers.update(HEADERS)
    response.delete_cookie(SIGN_IN_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
    return response


@router.get("/auth/session", response_model=SessionView, responses=error_responses(401))
def get_session(request: Request, state: StateDep) -> Response:
    """Whether this browser has a dashboard session. No session cookie: ``signed_in``
    false; a cookie whose session ended or expired: 401 (and the cookie is dropped)."""
    configured = state.identity_provider is not None
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return _json(SessionView(signed_in=False, identity_provider=configured))
    try:
        with state.sessions() as session:
            browser = browser_session(session, state, request, cookie)
    except NotAuthenticatedError as ended:
        response = error_response(401, ended.error, ended.detail)
        response.delete_cookie(
            SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict"
        )
        return response
    person = browser.person
    view = SessionView(
        signed_in=True,
        identity_provider=configured,
        enterprise=browser.owner.slug,
        person=SessionPerson(subject=person.subject, email=person.email, name=person.name),
        expires_at=browser.expires_at,
        csrf_token=browser.csrf_token,
    )
    return _json(view)


def _json(view: SessionView) -> Response:
    # Never cached: it carries the CSRF token, and goes stale at sign-out.
    return Response(
        view.model_dump_json(),
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


@router.post(
    "/auth/sign-out",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403),
)
def sign_out(
    state: StateDep,
    browser: BrowserSessionDep,
    audit: Annotated[AuditContext, audited("session.sign_out")],
) -> Response:
    """Ends this browser's session on the server: its cookie is worth nothing from now on,
    wherever a copy of it is."""
    with state.sessions.begin() as session:
        browser_sessions.end_session(session, browser.session_id)
        record_entry(session, audit, browser.owner.enterprise_id)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response
