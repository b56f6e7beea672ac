"""Loading an enterprise's accounts for the license computation, and caching the result.

The computation reads every current GHES account of the enterprise, so its result is kept
per ``(enterprise, data_version)``: any replica can tell from one small query whether what
it holds is still current, which keeps replicas stateless in every way that matters.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import (
    CloudAccount,
    CloudAccountKey,
    Enterprise,
    ServerInstance,
    ServerUser,
)
from services.cloud_api.domain.accounts import VERIFIED
from services.cloud_api.domain.licensing import (
    CloudIdentity,
    LicenseFigures,
    Person,
    ServerAccount,
    license_figures,
    match_persons,
)
from services.common.clock import utcnow


@dataclass(frozen=True, slots=True)
class LicenseState:
    enterprise_id: int
    data_version: int
    persons: list[Person]
    figures: LicenseFigures
    computed_at: datetime


def load_cloud_identities(session: Session, enterprise_id: int) -> list[CloudIdentity]:
    verified: dict[int, list[str]] = {}
    identity: dict[int, list[tuple[str, str]]] = {}
    key_rows = session.execute(
        select(CloudAccountKey.account_id, CloudAccountKey.kind, CloudAccountKey.key).where(
            CloudAccountKey.enterprise_id == enterprise_id
        )
    )
    for account_id, kind, key in key_rows:
        if kind == VERIFIED:
            verified.setdefault(account_id, []).append(key)
        elif kind != "unverified_email":
            identity.setdefault(account_id, []).append((kind, key))
    accounts = session.execute(
        select(CloudAccount.account_id, CloudAccount.login, CloudAccount.consuming)
        .where(CloudAccount.enterprise_id == enterprise_id)
        .order_by(CloudAccount.account_id)
    )
    return [
        CloudIdentity(
            account_id,
            login,
            consuming,
            tuple(sorted(verified.get(account_id, ()))),
            tuple(sorted(identity.get(account_id, ()))),
        )
        for account_id, login, consuming in accounts
    ]


def iter_server_accounts(session: Session, enterprise_id: int) -> Iterator[ServerAccount]:
    rows = session.execute(
        select(ServerInstance.id, ServerUser.user_id, ServerUser.email_key, ServerUser.email)
        .join(ServerUser, ServerUser.report_pk == ServerInstance.current_report_pk)
        .where(ServerInstance.enterprise_id == enterprise_id)
        .order_by(ServerInstance.id, ServerUser.user_id)
        .execution_options(yield_per=10_000)
    )
    for instance, user_id, email_key, email in rows:
        yield ServerAccount(instance, user_id, email_key, email)


def compute_state(session: Session, enterprise: Enterprise) -> LicenseState:
    persons = match_persons(
        load_cloud_identities(session, enterprise.id),
        iter_server_accounts(session, enterprise.id),
        saml_enabled=enterprise.saml_enabled,
    )
    return LicenseState(
        enterprise.id, enterprise.data_version, persons, license_figures(persons), utcnow()
    )


class LicenseCache:
    """A few recent results per process; a stale entry is never served (the version is
    read from the database on every request)."""

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._entries: OrderedDict[int, LicenseState] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session: Session, enterprise: Enterprise) -> LicenseState:
        with self._lock:
            state = self._entries.get(enterprise.id)
        if state is not None and state.data_version == enterprise.data_version:
            return state
        state = compute_state(session, enterprise)
        self.put(state)
        return state

    def put(self, state: LicenseState) -> None:
        with self._lock:
            current = self._entries.get(state.enterprise_id)
            if current is None or current.data_version <= state.data_version:
                self._entries[state.enterprise_id] = state
                self._entries.move_to_end(state.enterprise_id)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
