"""The license engine: the enterprise figure and its listing, computed from the current
reports and the cloud accounts, and kept per process under one memory budget.

A report's users never change once stored, so what is derived from one report alone is
kept under its report_id; what depends on the cloud accounts is kept with the accounts
version it was computed for, and an enterprise's figure and listing with the data version.
Every version is read from the database on each request, so a replica never serves
another replica's stale answer, and nothing computed inside a transaction that might roll
back is kept. Everything kept, of every enterprise, is in one LRU bounded in bytes
(``CLOUD_API_CACHE_MB``): an evicted entry is computed again from the database.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.cloud_api.db.models import Enterprise
from services.cloud_api.domain.licensing import kept
from services.cloud_api.domain.licensing.ahead import AheadPools, KeysAhead
from services.cloud_api.domain.licensing.cloud_reads import CloudReads
from services.cloud_api.domain.licensing.committers import (
    NO_COMMITTERS,
    CommitterFigures,
    Committers,
    count_committers,
    load_cloud_committers,
    load_committers,
)
from services.cloud_api.domain.licensing.figures import (
    KeyTally,
    build_tally,
    figures_from_tally,
    update_tally,
)
from services.cloud_api.domain.licensing.index import (
    AccountsIndex,
    LinkedAccount,
    build_figure_index,
    person_keys,
)
from services.cloud_api.domain.licensing.listing import InstanceReport, Listing
from services.cloud_api.domain.licensing.loaders import (
    CurrentReport,
    InstanceAccounts,
    InstanceKeys,
    current_reports,
    load_instance_accounts,
    load_instance_keys,
    load_linked_accounts,
    load_links,
)
from services.cloud_api.domain.licensing.logins import Logins
from services.cloud_api.domain.licensing.lookup import ReportLookup
from services.cloud_api.domain.licensing.lru import CacheStats, SizedLru
from services.cloud_api.domain.licensing.overrides import build_overrides
from services.cloud_api.domain.licensing.roster import build_roster, update_roster
from services.cloud_api.domain.licensing.rules import LicenseFigures
from services.cloud_api.domain.licensing.search import CloudText
from services.cloud_api.domain.licensing.stored_figures import Counts, load_counts, save_counts
from services.common.clock import utcnow
from services.common.gc_pause import collector_paused, hand_to_oldest

DEFAULT_CACHE_MB = 1024
LARGE_RECOUNT = 100_000
"""Persons from which a recount's sets are handed to the oldest generation as made
(``gc_pause.hand_to_oldest``): rare and large enough to be worth a delayed collection."""


@dataclass(frozen=True, slots=True)
class FigureState:
    enterprise_id: int
    data_version: int
    figures: LicenseFigures
    computed_at: datetime
    tally: KeyTally | None = None
    """Kept with the figures, so that the next report updates it and listings list it."""
    advanced_security: CommitterFigures = NO_COMMITTERS
    """Unique Advanced Security committers (``committers.py``), beside the licenses."""


@dataclass(frozen=True, slots=True)
class Tallied:
    """A state of the figure with what tells it apart from another state."""

    index: AccountsIndex
    tally: KeyTally
    state: FigureState


class LicenseEngine:
    """Computes figures and listings, and keeps what it computed per process: bounded,
    thread-safe, and never trusted without a version check."""

    def __init__(self, cache_bytes: int = DEFAULT_CACHE_MB * 2**20) -> None:
        self._cache = SizedLru(cache_bytes)
        self._lock = threading.RLock()
        self._ahead = AheadPools()

    def close(self) -> None:
        """Closes the connections of cold reads' second connections."""
        self._ahead.close()

    def stats(self) -> CacheStats:
        with self._lock:
            return self._cache.stats()

    # -- what readers call ------------------------------------------------------------

    def figures(self, session: Session, enterprise: Enterprise) -> FigureState:
        """The figure of the enterprise's data version: kept, else as the change that made
        this version stored it (``stored_figures.py``), else counted from the reports."""
        cached: FigureState | None = self._get(("figures", enterprise.id))
        if cached is not None and cached.data_version == enterprise.data_version:
            return cached
        stored = load_counts(session, enterprise.id, enterprise.data_version)
        if stored is not None:
            state = FigureState(
                enterprise.id,
                stored.data_version,
                stored.figures,
                stored.computed_at,
                advanced_security=stored.advanced_security,
            )
        else:
            # A million persons' keys and sets are made and kept here: with the cyclic
            # collector on, each burst of allocations traversed the growing heap again
            # (a quarter of a listing's first build). Nothing here makes reference cycles.
            with collector_paused():
                state = self.compute_figures(session, enterprise, keep=True)
                if state.figures.consumed >= LARGE_RECOUNT:
                    hand_to_oldest()
        self.store_figures(state)
        return state

    def listing(self, session: Session, enterprise: Enterprise) -> tuple[FigureState, Listing]:
        """The figure and the listing of its persons, for the enterprise's data version."""
        state = self.figures(session, enterprise)
        cached = self._get(("listing", enterprise.id))
        if cached is not None and cached.data_version == state.data_version:
            return state, cached
        with collector_paused():  # see figures()
            return self._build_listing(session, enterprise, state, cached)

    def _build_listing(
        self, session: Session, enterprise: Enterprise, state: FigureState, cached: Listing | None
    ) -> tuple[FigureState, Listing]:
        if state.tally is None:  # a stored figure: the listing needs the keys counted
            counted = self.compute_figures(session, enterprise, keep=True)
            # The same figure of the same version: it was computed when the change was.
            state = dataclasses.replace(counted, computed_at=state.computed_at)
            self.store_figures(state)
        index = self._index(session, enterprise, keep=True)
        logins = self._logins(session, enterprise)
        reports = current_reports(session, enterprise.id)
        tally = state.tally
        assert tally is not None  # figures() keeps a tally
        previous = cached.roster if cached is not None else None
        roster = (
            update_roster(previous, tally, index, logins)
            if previous is not None
            else build_roster(tally, index, logins)
        )
        listing = Listing(
            enterprise.id,
            state.data_version,
            roster,
            index,
            enterprise.saml_enabled,
            [InstanceReport(r.instance_pk, self._lookup(session, r)) for r in reports],
            logins,
            self._cloud_text(enterprise.id, index.version, len(logins)),
        )
        listing.overrides = build_overrides(
            load_links(session, enterprise.id) if index.links else {},
            index,
            [(report.instance_pk, report.lookup) for report in listing.reports],
            tally.everyone,
        )
        if dict(tally.reports) == {r.instance_pk: r.report_id for r in reports}:
            # Else a report arrived between the two reads: answer, but keep nothing.
            self._put(("listing", enterprise.id), listing, kept.listing_size(listing))
        return state, listing

    def report_lookup(self, session: Session, report: CurrentReport) -> ReportLookup:
        return self._lookup(session, report)

    # -- what writers call --------------------------------------------------------------

    def compute_figures(
        self,
        session: Session,
        enterprise: Enterprise,
        *,
        keep: bool,
        pending: InstanceKeys | None = None,
        index: AccountsIndex | None = None,
    ) -> FigureState:
        """``keep=False`` when this transaction changed the cloud accounts: an index built
        from uncommitted accounts must not outlive a rollback (``index``: one the caller
        built from the accounts it just stored; keep it with ``remember_index`` once
        committed). ``pending`` is the report this transaction is applying, already in
        memory and not yet committed, so nothing derived from it is kept either. Other
        reports are committed and immutable: their users are always worth keeping."""
        return self.tallied(session, enterprise, keep=keep, pending=pending, index=index).state

    def tallied(
        self,
        session: Session,
        enterprise: Enterprise,
        *,
        keep: bool,
        reports: list[CurrentReport] | None = None,
        pending: InstanceKeys | None = None,
        base: KeyTally | None = None,
        index: AccountsIndex | None = None,
    ) -> Tallied:
        """The figure of ``reports`` (the current ones by default) with its tally, so that
        the next report costs only what it changes, and two states can be told apart
        (``transitions.key_changes``). ``base``: the tally to update (the kept one by
        default)."""
        if reports is None:
            reports = current_reports(session, enterprise.id)
        if base is None:
            cached: FigureState | None = self._get(("figures", enterprise.id))
            base = cached.tally if cached is not None else None
        # The reports' keys are read on a second connection while the index is built
        # here (a cold start: both read for a few hundred milliseconds). The version the
        # index will have decides which keys the kept tally already counts.
        version = index.version if index is not None else enterprise.accounts_version
        ahead = self._read_ahead(session, reports, version, base, pending)
        index = index or self._index(session, enterprise, keep=keep)
        keys = self._keys_by_instance(session, reports, index, base, pending, ahead)
        mapping = {report.instance_pk: report.report_id for report in reports}
        asked = (index.cloud_keys,)  # what the figure counts among everyone's keys
        tally = (
            update_tally(base, index.version, mapping, keys, index.consuming, asked=asked)
            if base is not None
            else build_tally(index.version, mapping, keys, index.consuming, asked=asked)
        )
        figures = figures_from_tally(tally, index)
        committers = load_committers(
            session, enterprise.id, reports, self._cloud_committers(session, enterprise, keep)
        )
        linked = {
            report.instance_pk: self._linked(session, report, index)
            for report in reports
            if index.links and report.instance_pk in committers.server
        }
        state = FigureState(
            enterprise.id,
            enterprise.data_version,
            figures,
            utcnow(),
            tally,
            count_committers(committers, keys, index, linked),
        )
        return Tallied(index, tally, state)

    def committers(self, session: Session, enterprise: Enterprise) -> Committers:
        """Who commits, for listings that flag each person's committer accounts."""
        reports = current_reports(session, enterprise.id)
        return load_committers(
            session, enterprise.id, reports, self._cloud_committers(session, enterprise, True)
        )

    def instance_accounts(
        self, session: Session, report: CurrentReport, *, keep: bool = True
    ) -> InstanceAccounts:
        """The users of one stored report (committed reports are immutable: always kept)."""
        return self._accounts(session, report)

    def _read_ahead(
        self,
        session: Session,
        reports: list[CurrentReport],
        version: int,
        base: KeyTally | None,
        pending: InstanceKeys | None,
    ) -> KeysAhead | None:
        """Starts reading the keys of the reports neither kept nor being applied."""
        to_read = [
            r
            for r in reports
            if (pending is None or r.report_id != pending.report_id)
            and not self._keys_at_hand(r, version, base)
        ]
        return self._ahead.keys_ahead(session.get_bind(), to_read)  # type: ignore[arg-type]

    def _keys_by_instance(
        self,
        session: Session,
        reports: list[CurrentReport],
        index: AccountsIndex,
        base: KeyTally | None,
        pending: InstanceKeys | None,
        ahead: KeysAhead | None,
    ) -> dict[int, set[str]]:
        keys = {}
        for report in reports:
            if pending is not None and report.report_id == pending.report_id:
                linked = self._linked(session, report, index)
                keys[report.instance_pk] = person_keys(report.instance_pk, pending, index, linked)
            else:
                keys[report.instance_pk] = self._person_keys(session, report, index, base, ahead)
        return keys

    def write_figures(self, session: Session, state: FigureState) -> None:
        """Stores the state a change computed in the change's own transaction, so that
        another replica's first read of this data version needs no recount."""
        counts = Counts(
            state.data_version, state.figures, state.advanced_security, state.computed_at
        )
        save_counts(session, state.enterprise_id, counts)

    def store_figures(self, state: FigureState) -> None:
        """Keeps a committed state in this process (a tallied one replaces a stored one
        of the same version: it lets the next report count only what it changes)."""
        with self._lock:
            current = self._cache.get(("figures", state.enterprise_id))
            if (
                current is None
                or current.data_version < state.data_version
                or (current.data_version == state.data_version and state.tally is not None)
            ):
                self._cache.put(("figures", state.enterprise_id), state, kept.figure_size(state))

    def remember_index(self, index: AccountsIndex) -> None:
        """An index of committed accounts (an import just stored them)."""
        with self._lock:
            current = self._cache.get(("index", index.enterprise_id))
            if current is None or current.version <= index.version:
                self._cache.put(("index", index.enterprise_id), index, kept.index_size(index))

    def remember(self, accounts: InstanceAccounts, enterprise_id: int) -> None:
        """A report just committed: its users are already in memory, keep them. When the
        enterprise's listings are read, its lookup (and search text, when searched) are
        made now, with the push, rather than by the first read after it."""
        compact = InstanceAccounts.compact(
            accounts.report_id, accounts.user_ids, accounts.email_keys, accounts.emails
        )
        ordered = compact.in_user_order()
        self._put(("accounts", ordered.report_id), ordered, kept.accounts_size(ordered))
        listing: Listing | None = self._get(("listing", enterprise_id))
        if listing is not None:
            lookup = ReportLookup(ordered)
            if any(report.lookup.searched for report in listing.reports):
                lookup.text()
            self._put(("lookup", ordered.report_id), lookup, kept.lookup_size(lookup))

    # -- internals --------------------------------------------------------------------

    def _get(self, key: tuple[str, object]) -> Any:
        with self._lock:
            return self._cache.get(key)

    def _pop(self, key: tuple[str, object]) -> None:
        with self._lock:
            self._cache.pop(key)

    def _put(self, key: tuple[str, object], value: object, size: int) -> None:
        with self._lock:
            self._cache.put(key, value, size)

    def _index(self, session: Session, enterprise: Enterprise, *, keep: bool) -> AccountsIndex:
        index: AccountsIndex | None = self._get(("index", enterprise.id))
        if index is not None and index.version == enterprise.accounts_version:
            return index
        index = build_figure_index(session, enterprise)
        if keep:
            self._put(("index", enterprise.id), index, kept.index_size(index))
        return index

    def _cloud_committers(
        self, session: Session, enterprise: Enterprise, keep: bool
    ) -> frozenset[int]:
        """Read once per accounts version (a push would otherwise scan every account)."""
        cached: tuple[int, frozenset[int]] | None = self._get(("committing", enterprise.id))
        if cached is not None and cached[0] == enterprise.accounts_version:
            return cached[1]
        found = load_cloud_committers(session, enterprise.id)
        if keep:  # not from an import this transaction may still roll back
            size = 100 + 40 * len(found)
            self._put(("committing", enterprise.id), (enterprise.accounts_version, found), size)
        return found

    def _keys_at_hand(self, report: CurrentReport, version: int, base: KeyTally | None) -> bool:
        if self._counted(report, version, base):
            return True
        with self._lock:
            return any(
                self._cache.get((kind, report.report_id)) is not None
                for kind in ("accounts", "keys")
            )

    @staticmethod
    def _counted(report: CurrentReport, version: int, base: KeyTally | None) -> bool:
        """Whether the kept tally counts this report under accounts version ``version``."""
        return (
            base is not None
            and base.accounts_version == version
            and base.reports.get(report.instance_pk) == report.report_id
        )

    def _person_keys(
        self,
        session: Session,
        report: CurrentReport,
        index: AccountsIndex,
        base: KeyTally | None,
        ahead: KeysAhead | None = None,
    ) -> set[str]:
        if base is not None and self._counted(report, index.version, base):
            return base.keys[report.instance_pk]  # type: ignore[return-value]
        keys = self._instance_keys(session, report, ahead)
        # Links change the accounts version: keys counted under a version include them.
        linked = self._linked(session, report, index)
        return person_keys(report.instance_pk, keys, index, linked)

    @staticmethod
    def _linked(
        session: Session, report: CurrentReport, index: AccountsIndex
    ) -> list[LinkedAccount]:
        """The report's accounts an identity link names (read only when links exist)."""
        return load_linked_accounts(session, report) if index.links else []

    def _instance_keys(
        self, session: Session, report: CurrentReport, ahead: KeysAhead | None = None
    ) -> InstanceKeys:
        accounts: InstanceAccounts | None = self._get(("accounts", report.report_id))
        if accounts is not None:
            return accounts.keys()
        found: InstanceKeys | None = self._get(("keys", report.report_id))
        if found is None:
            found = (ahead.keys(report) if ahead is not None else None) or load_instance_keys(
                session, report
            )
            self._put(("keys", report.report_id), found, kept.keys_size(found))
        return found

    def _accounts(self, session: Session, report: CurrentReport) -> InstanceAccounts:
        accounts: InstanceAccounts | None = self._get(("accounts", report.report_id))
        if accounts is None:
            keys = self._instance_keys(session, report)
            accounts = load_instance_accounts(session, report, keys)
            self._put(("accounts", report.report_id), accounts, kept.accounts_size(accounts))
            # The accounts give the keys again when wanted (their strings are the same):
            # keeping both lists would hold each report's addresses twice over.
            self._pop(("keys", report.report_id))
        return accounts

    def _lookup(self, session: Session, report: CurrentReport) -> ReportLookup:
        lookup: ReportLookup | None = self._get(("lookup", report.report_id))
        if lookup is None:
            lookup = ReportLookup(self._accounts(session, report))
            self._put(("lookup", report.report_id), lookup, kept.lookup_size(lookup))
        return lookup

    def _cloud_text(self, enterprise_id: int, version: int, accounts: int) -> CloudText:
        found: tuple[int, CloudText] | None = self._get(("cloud_text", enterprise_id))
        if found is not None and found[0] == version:
            return found[1]
        text = CloudText()
        self._put(("cloud_text", enterprise_id), (version, text), kept.CLOUD_TEXT_PER * accounts)
        return text

    def _logins(self, session: Session, enterprise: Enterprise) -> Logins:
        found: tuple[int, Logins] | None = self._get(("logins", enterprise.id))
        if found is not None and found[0] == enterprise.accounts_version:
            return found[1]
        logins = CloudReads(session, enterprise.id, enterprise.saml_enabled).logins()
        version = enterprise.accounts_version
        self._put(("logins", enterprise.id), (version, logins), kept.logins_size(logins))
        return logins
