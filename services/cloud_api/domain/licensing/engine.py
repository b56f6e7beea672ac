"""The license engine: the enterprise figure and its persons, computed from the current
reports and the cloud accounts, and kept per process.

A report's users never change once stored, so each instance's accounts are cached under
its report_id, and the person keys derived from them under ``(report_id, accounts
version)``. A new report for one instance therefore costs that instance's users only; the
enterprise figure is a union of per-instance key sets. Every cache is keyed by something
immutable or checked against a version read from the database on each request, so a
replica never serves another replica's stale answer, and nothing computed inside a
transaction that might roll back is kept.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from services.cloud_api.db.models import Enterprise
from services.cloud_api.domain.licensing.figures import (
    KeyTally,
    build_tally,
    figures_from_keys,
    figures_from_tally,
    update_tally,
)
from services.cloud_api.domain.licensing.index import (
    AccountsIndex,
    build_figure_index,
    build_index,
    person_keys,
)
from services.cloud_api.domain.licensing.loaders import (
    CurrentReport,
    InstanceAccounts,
    InstanceKeys,
    current_reports,
    load_instance_accounts,
    load_instance_keys,
)
from services.cloud_api.domain.licensing.lru import SizedLru
from services.cloud_api.domain.licensing.rules import (
    LicenseFigures,
    Matcher,
    Person,
    ServerAccount,
    match_persons,
)
from services.common.clock import utcnow


@dataclass(frozen=True, slots=True)
class FigureState:
    enterprise_id: int
    data_version: int
    figures: LicenseFigures
    computed_at: datetime
    tally: KeyTally | None = None
    """Kept with the figures once reports arrive, so the next one updates it."""


@dataclass(frozen=True, slots=True)
class Tallied:
    """A state of the figure with what tells it apart from another state."""

    index: AccountsIndex
    tally: KeyTally
    state: FigureState


@dataclass(frozen=True, slots=True)
class LicenseState:
    enterprise_id: int
    data_version: int
    persons: list[Person]
    figures: LicenseFigures
    computed_at: datetime


class LicenseEngine:
    """Computes figures and persons, and keeps what it computed per process: bounded,
    thread-safe, and never trusted without a version check."""

    def __init__(self, max_cached_accounts: int = 5_000_000) -> None:
        self._instances: SizedLru[str, InstanceAccounts] = SizedLru(
            max_cached_accounts, lambda accounts: len(accounts.user_ids)
        )
        self._report_keys: SizedLru[str, InstanceKeys] = SizedLru(
            max_cached_accounts, lambda keys: len(keys.email_keys) + len(keys.no_email_ids)
        )
        self._indexes: dict[int, AccountsIndex] = {}
        self._keys: SizedLru[tuple[str, int], set[str]] = SizedLru(max_cached_accounts, len)
        self._figures: dict[int, FigureState] = {}
        self._tallies: dict[int, KeyTally] = {}
        self._states: dict[int, LicenseState] = {}
        self._lock = threading.RLock()

    # -- what readers call ------------------------------------------------------------

    def figures(self, session: Session, enterprise: Enterprise) -> FigureState:
        with self._lock:
            cached = self._figures.get(enterprise.id)
        if cached is not None and cached.data_version == enterprise.data_version:
            return cached
        state = self.compute_figures(session, enterprise, keep=True)
        self.store_figures(state)
        return state

    def persons(self, session: Session, enterprise: Enterprise) -> LicenseState:
        """Figures and every person (for listings): built on demand, kept per version."""
        with self._lock:
            cached = self._states.get(enterprise.id)
        if cached is not None and cached.data_version == enterprise.data_version:
            return cached
        figures = self.figures(session, enterprise)
        index = self._index(session, enterprise, keep=True, complete=True)
        assert index.identities is not None  # complete=True builds them
        reports = current_reports(session, enterprise.id)
        persons = match_persons(
            index.identities,
            self._server_accounts(session, reports, keep=True),
            saml_enabled=enterprise.saml_enabled,
        )
        state = LicenseState(
            enterprise.id, figures.data_version, persons, figures.figures, figures.computed_at
        )
        with self._lock:
            self._states[enterprise.id] = state
        return state

    def matcher(self, session: Session, enterprise: Enterprise) -> Matcher:
        """The matcher the persons are built with: every cloud account, consuming or not
        (explanations ask it which accounts claim an address)."""
        index = self._index(session, enterprise, keep=True, complete=True)
        assert index.matcher is not None  # complete=True builds it
        return index.matcher

    # -- what writers call --------------------------------------------------------------

    def compute_figures(
        self,
        session: Session,
        enterprise: Enterprise,
        *,
        keep: bool,
        pending: InstanceKeys | None = None,
    ) -> FigureState:
        """``keep=False`` when this transaction changed the cloud accounts: an index built
        from uncommitted accounts must not outlive a rollback. ``pending`` is the report
        this transaction is applying, already in memory and not yet committed, so nothing
        derived from it is kept either. Other reports are committed and immutable: their
        users are always worth keeping."""
        with self._lock:
            base = self._tallies.get(enterprise.id)
        if base is None and pending is None:
            # A cold read: set arithmetic is the quickest count from scratch.
            index = self._index(session, enterprise, keep=keep)
            keys = self._keys_by_instance(
                session, current_reports(session, enterprise.id), index, keep=keep
            )
            figures = figures_from_keys(keys, index)
            return FigureState(enterprise.id, enterprise.data_version, figures, utcnow())
        return self.tallied(session, enterprise, keep=keep, pending=pending).state

    def tallied(
        self,
        session: Session,
        enterprise: Enterprise,
        *,
        keep: bool,
        reports: list[CurrentReport] | None = None,
        pending: InstanceKeys | None = None,
        base: KeyTally | None = None,
    ) -> Tallied:
        """The figure of ``reports`` (the current ones by default) with its tally, so that
        the next report costs only what it changes, and two states can be told apart
        (``transitions.key_changes``). ``base``: the tally to update (the kept one by
        default)."""
        index = self._index(session, enterprise, keep=keep)
        if reports is None:
            reports = current_reports(session, enterprise.id)
        keys = self._keys_by_instance(session, reports, index, keep=keep, pending=pending)
        if base is None:
            with self._lock:
                base = self._tallies.get(enterprise.id)
        mapping = {report.instance_pk: report.report_id for report in reports}
        tally = (
            update_tally(base, index.version, mapping, keys, index.consuming)
            if base is not None
            else build_tally(index.version, mapping, keys, index.consuming)
        )
        figures = figures_from_tally(tally, index)
        state = FigureState(enterprise.id, enterprise.data_version, figures, utcnow(), tally)
        return Tallied(index, tally, state)

    def instance_accounts(
        self, session: Session, report: CurrentReport, *, keep: bool = True
    ) -> InstanceAccounts:
        """The users of one stored report (committed reports are immutable: kept)."""
        return self._accounts(session, report, keep=keep)

    def _keys_by_instance(
        self,
        session: Session,
        reports: list[CurrentReport],
        index: AccountsIndex,
        *,
        keep: bool,
        pending: InstanceKeys | None = None,
    ) -> dict[int, set[str]]:
        keys_by_instance = {}
        for report in reports:
            if pending is not None and report.report_id == pending.report_id:
                keys = person_keys(report.instance_pk, pending, index)
            else:
                keys = self._person_keys(session, report, index, keep=keep)
            keys_by_instance[report.instance_pk] = keys
        return keys_by_instance

    def store_figures(self, state: FigureState) -> None:
        with self._lock:
            current = self._figures.get(state.enterprise_id)
            if current is None or current.data_version <= state.data_version:
                self._figures[state.enterprise_id] = state
                if state.tally is not None:
                    self._tallies[state.enterprise_id] = state.tally

    def remember(self, accounts: InstanceAccounts, keys: InstanceKeys) -> None:
        """A report just committed: its users are already in memory, keep them."""
        with self._lock:
            self._instances.put(accounts.report_id, accounts)
            self._report_keys.put(keys.report_id, keys)

    # -- internals --------------------------------------------------------------------

    def _index(
        self, session: Session, enterprise: Enterprise, *, keep: bool, complete: bool = False
    ) -> AccountsIndex:
        """``complete``: with the identities and matcher (listings); else figures suffice."""
        with self._lock:
            index = self._indexes.get(enterprise.id)
        if (
            index is not None
            and index.version == enterprise.accounts_version
            and (index.identities is not None or not complete)
        ):
            return index
        index = (
            build_index(session, enterprise)
            if complete
            else build_figure_index(session, enterprise)
        )
        if keep:
            with self._lock:
                self._indexes[enterprise.id] = index
        return index

    def _accounts(self, session: Session, report: CurrentReport, *, keep: bool) -> InstanceAccounts:
        with self._lock:
            accounts = self._instances.get(report.report_id)
        if accounts is not None:
            return accounts
        accounts = load_instance_accounts(session, report)
        if keep:
            with self._lock:
                self._instances.put(accounts.report_id, accounts)
        return accounts

    def _person_keys(
        self, session: Session, report: CurrentReport, index: AccountsIndex, *, keep: bool
    ) -> set[str]:
        cache_key = (report.report_id, index.version)
        with self._lock:
            keys = self._keys.get(cache_key)
        if keys is not None:
            return keys
        keys = person_keys(report.instance_pk, self._instance_keys(session, report), index)
        if keep:
            with self._lock:
                self._keys.put(cache_key, keys)
        return keys

    def _instance_keys(self, session: Session, report: CurrentReport) -> InstanceKeys:
        with self._lock:
            found = self._report_keys.get(report.report_id)
        if found is not None:
            return found
        found = load_instance_keys(session, report)
        with self._lock:  # committed and immutable: always worth keeping
            self._report_keys.put(found.report_id, found)
        return found

    def _server_accounts(
        self, session: Session, reports: list[CurrentReport], *, keep: bool
    ) -> Iterator[ServerAccount]:
        for report in reports:
            accounts = self._accounts(session, report, keep=keep)
            for user_id, key, email in zip(
                accounts.user_ids, accounts.email_keys, accounts.emails, strict=True
            ):
                yield ServerAccount(report.instance_pk, user_id, key, email)
