"""Dashboard sessions of persons signed in through the OpenID provider, and the sign-in
attempts that lead to them. Both live in the database (every replica sees them; deleting a
row ends it at once) and are found by the SHA-256 of a random value only the browser holds
in an HttpOnly cookie."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import Enterprise, OwnerSession, SignInAttempt
from services.cloud_api.domain.access.auth import OwnerPrincipal
from services.cloud_api.domain.errors import (
    ForbiddenError,
    InvalidInputError,
    NotAuthenticatedError,
)
from services.common.audit_log import Actor
from services.common.clock import as_utc, utcnow
from services.common.secrets import digest, same_secret

SIGN_IN_MINUTES = 10
"""How long a person has at the provider before the sign-in must be started again."""

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Person:
    """Who the provider says signed in (never a secret)."""

    subject: str
    email: str | None
    name: str | None

    @property
    def actor(self) -> Actor:
        """Audit entries name the person by e-mail, else by the provider's subject."""
        return Actor(kind="person", name=(self.email or f"sub:{self.subject}")[:200])


@dataclass(frozen=True, slots=True)
class PendingSignIn:
    browser_secret: str
    """The sign-in cookie's value."""
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True, slots=True)
class StartedSession:
    cookie: str
    """The session cookie's value: given to the browser once, stored only as a digest."""
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class BrowserSession:
    owner: OwnerPrincipal
    person: Person
    csrf_token: str
    expires_at: datetime
    session_id: int


# --- sign-in attempts -------------------------------------------------------------------


def begin_sign_in(session: Session, enterprise_slug: str, redirect_uri: str) -> PendingSignIn:
    now = utcnow()
    session.execute(delete(SignInAttempt).where(SignInAttempt.expires_at < now))
    pending = PendingSignIn(
        browser_secret=secrets.token_urlsafe(32),
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),  # 86 characters: RFC 7636 allows 43-128
    )
    session.add(
        SignInAttempt(
            browser_hash=digest(pending.browser_secret),
            state=pending.state,
            nonce=pending.nonce,
            code_verifier=pending.code_verifier,
            enterprise_slug=enterprise_slug,
            redirect_uri=redirect_uri,
            expires_at=now + timedelta(minutes=SIGN_IN_MINUTES),
        )
    )
    return pending


@dataclass(frozen=True, slots=True)
class ReturningSignIn:
    enterprise_slug: str
    redirect_uri: str
    nonce: str
    code_verifier: str


def finish_sign_in(session: Session, browser_secret: str | None, state: str) -> ReturningSignIn:
    """The attempt this browser started with this ``state``, used up: a callback can be
    answered once, only in the browser that went to the provider, within the minutes."""
    if not browser_secret:
        raise InvalidInputError(
            "this browser started no sign-in (or its sign-in cookie was lost): start again",
            code="sign_in_not_started",
        )
    attempt = session.scalar(
        select(SignInAttempt).where(SignInAttempt.browser_hash == digest(browser_secret))
    )
    if attempt is None:
        raise InvalidInputError(
            "no sign-in is waiting for this browser (it was finished already, or it expired): "
            "start again",
            code="sign_in_not_started",
        )
    session.delete(attempt)
    session.flush()
    if as_utc(attempt.expires_at) < utcnow():
        raise InvalidInputError(
            f"the sign-in took longer than {SIGN_IN_MINUTES} minutes: start again",
            code="sign_in_expired",
        )
    if not same_secret(state, attempt.state):
        raise InvalidInputError(
            "the state parameter does not belong to this browser's sign-in",
            code="state_mismatch",
        )
    return ReturningSignIn(
        attempt.enterprise_slug, attempt.redirect_uri, attempt.nonce, attempt.code_verifier
    )


# --- sessions ---------------------------------------------------------------------------


def start_session(
    session: Session, enterprise_id: int, person: Person, matched_by: str, lifetime: timedelta
) -> StartedSession:
    now = utcnow()
    session.execute(delete(OwnerSession).where(OwnerSession.expires_at < now))
    started = StartedSession(
        cookie=secrets.token_urlsafe(32),
        csrf_token=secrets.token_urlsafe(32),
        expires_at=now + lifetime,
    )
    session.add(
        OwnerSession(
            token_hash=digest(started.cookie),
            enterprise_id=enterprise_id,
            subject=person.subject[:255],
            email=person.email[:320] if person.email else None,
            name=person.name[:255] if person.name else None,
            csrf_token=started.csrf_token,
            matched_by=matched_by,
            created_at=now,
            expires_at=started.expires_at,
        )
    )
    return started


def session_by_cookie(session: Session, cookie: str) -> BrowserSession:
    """The live session whose cookie this is; an unknown, ended or expired one is a 401."""
    row = session.execute(
        select(OwnerSession, Enterprise.slug)
        .join(Enterprise, Enterprise.id == OwnerSession.enterprise_id)
        .where(OwnerSession.token_hash == digest(cookie))
    ).first()
    if row is None:
        raise NotAuthenticatedError(
            "the session has ended (signed out, or unknown): sign in again", code="session_ended"
        )
    stored, slug = row
    expires_at = as_utc(stored.expires_at)
    if expires_at <= utcnow():
        raise NotAuthenticatedError(
            "the session has expired: sign in again", code="session_expired"
        )
    person = Person(stored.subject, stored.email, stored.name)
    return BrowserSession(
        owner=OwnerPrincipal(stored.enterprise_id, slug, person.actor),
        person=person,
        csrf_token=stored.csrf_token,
        expires_at=expires_at,
        session_id=stored.id,
    )


def end_session(session: Session, session_id: int) -> None:
    session.execute(delete(OwnerSession).where(OwnerSession.id == session_id))


def end_sessions_let_in_by(session: Session, enterprise_id: int, identities: list[str]) -> int:
    """Ends the enterprise's sessions that these owner identities (``email:…``,
    ``group:…``) let in; returns how many. Removing an owner takes effect at once."""
    if not identities:
        return 0
    ended = session.execute(
        delete(OwnerSession).where(
            OwnerSession.enterprise_id == enterprise_id, OwnerSession.matched_by.in_(identities)
        )
    )
    return int(ended.rowcount)  # type: ignore[attr-defined]


# --- cross-site request forgery ---------------------------------------------------------


def check_same_origin(
    browser: BrowserSession,
    method: str,
    origin: str | None,
    expected_origin: str,
    csrf_token: str | None,
) -> None:
    """A changing request made with the session cookie must come from the dashboard itself:
    its ``Origin`` is this service's, and it carries the session's CSRF token, which only a
    page of this origin can have read (docs/decisions.md, "Dashboard sessions")."""
    if method.upper() in SAFE_METHODS:
        return
    if origin is None or origin != expected_origin:
        raise ForbiddenError(
            f"cross-site request refused: Origin {origin or '(none)'} is not {expected_origin}",
            code="cross_site_request",
        )
    if not csrf_token or not same_secret(csrf_token, browser.csrf_token):
        raise ForbiddenError(
            "the X-CSRF-Token header is missing or not this session's", code="csrf_token_invalid"
        )
