"""The license computation at scale: per-instance data cached by report, figures by
enterprise version.

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
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import (
    Enterprise,
    Report,
    ServerInstance,
)
from services.cloud_api.domain.accounts import UNVERIFIED, VERIFIED
from services.cloud_api.domain.key_tally import (
    KeyTally,
    build_tally,
    figures_from_tally,
    update_tally,
)
from services.cloud_api.domain.licensing import (
    CloudIdentity,
    LicenseFigures,
    Matcher,
    Person,
    ServerAccount,
    match_persons,
)
from services.common.clock import utcnow

V = TypeVar("V")

# Person keys: a matched cloud account, a GHES e-mail, or a GHES account without e-mail.
# E-mail keys never contain a tab, so the prefixes cannot collide with them.
CLOUD_PREFIX = "\tc"
NO_EMAIL_PREFIX = "\tg"


@dataclass(frozen=True, slots=True)
class InstanceKeys:
    """What the figure needs of one stored report: its accounts' e-mail keys, and the IDs
    of its accounts without an e-mail (each of those is a person of its own)."""

    report_id: str
    email_keys: list[str]
    no_email_ids: list[int]


@dataclass(frozen=True, slots=True)
class InstanceAccounts:
    """The users of one stored report, as parallel lists (for listings and explanations)."""

    report_id: str
    user_ids: list[int]
    email_keys: list[str | None]
    emails: list[str | None]

    def keys(self) -> InstanceKeys:
        if None not in self.email_keys:  # the usual case: share the list, copy nothing
            return InstanceKeys(self.report_id, cast("list[str]", self.email_keys), [])
        with_email = [key for key in self.email_keys if key is not None]
        no_email = [u for u, k in zip(self.user_ids, self.email_keys, strict=True) if k is None]
        return InstanceKeys(self.report_id, with_email, no_email)


@dataclass(frozen=True, slots=True)
class AccountsIndex:
    enterprise_id: int
    version: int
    identities: list[CloudIdentity] | None
    """None in an index built for figures only (see :func:`build_figure_index`)."""
    matcher: Matcher | None
    consuming: frozenset[str]
    """Person keys of the cloud accounts that consume a license by themselves."""
    resolved: dict[str, str]
    """E-mail key -> person key, for every address some cloud account answers to."""
    cloud_keys: frozenset[str]
    """Person keys of every cloud account."""


@dataclass(frozen=True, slots=True)
class FigureState:
    enterprise_id: int
    data_version: int
    figures: LicenseFigures
    computed_at: datetime
    tally: KeyTally | None = None
    """Kept with the figures once reports arrive, so the next one updates it."""


@dataclass(frozen=True, slots=True)
class LicenseState:
    enterprise_id: int
    data_version: int
    persons: list[Person]
    figures: LicenseFigures
    computed_at: datetime


@dataclass(frozen=True, slots=True)
class CurrentReport:
    instance_pk: int
    report_pk: int
    report_id: str


def current_reports(session: Session, enterprise_id: int) -> list[CurrentReport]:
    rows = session.execute(
        select(ServerInstance.id, Report.id, Report.report_id)
        .join(Report, Report.id == ServerInstance.current_report_pk)
        .where(ServerInstance.enterprise_id == enterprise_id)
        .order_by(ServerInstance.id)
    )
    return [CurrentReport(*row) for row in rows]


def raw_rows(session: Session, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Plain DBAPI tuples for bulk reads (``?`` placeholders): a million ORM or Core rows
    would cost seconds on a cold start."""
    connection = session.connection()
    if connection.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, params)
        rows: list[tuple[Any, ...]] = list(cursor.fetchall())
    finally:
        cursor.close()
    return rows


def load_instance_accounts(session: Session, report: CurrentReport) -> InstanceAccounts:
    rows = raw_rows(
        session,
        "SELECT user_id, email_key, email FROM server_users WHERE report_pk = ? ORDER BY user_id",
        report.report_pk,
    )
    return InstanceAccounts(
        report.report_id, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
    )


_KEYS_TEXT_POSTGRES = (
    "SELECT string_agg(email_key, E'\\n') FROM server_users "
    "WHERE report_pk = ? AND email_key IS NOT NULL"
)
_KEYS_TEXT_SQLITE = (
    "SELECT group_concat(email_key, char(10)) FROM server_users "
    "WHERE report_pk = ? AND email_key IS NOT NULL"
)


def load_instance_keys(session: Session, report: CurrentReport) -> InstanceKeys:
    """Only what the figure needs: on a cold start this is a million rows. The keys come
    back as one line-separated text per report, split in C, rather than as a row object
    per user (a normalized key never holds a line break: white space is refused)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    (text,) = raw_rows(
        session,
        _KEYS_TEXT_POSTGRES if postgres else _KEYS_TEXT_SQLITE,
        report.report_pk,
    )[0]
    no_email = raw_rows(
        session,
        "SELECT user_id FROM server_users WHERE report_pk = ? AND email_key IS NULL",
        report.report_pk,
    )
    keys = text.split("\n") if text else []
    return InstanceKeys(report.report_id, keys, [r[0] for r in no_email])


def load_cloud_identities(session: Session, enterprise_id: int) -> list[CloudIdentity]:
    verified: dict[int, list[str]] = {}
    identity: dict[int, list[tuple[str, str]]] = {}
    key_rows = raw_rows(
        session,
        "SELECT account_id, kind, key FROM cloud_account_keys WHERE enterprise_id = ?",
        enterprise_id,
    )
    for account_id, kind, key in key_rows:
        if kind == VERIFIED:
            verified.setdefault(account_id, []).append(key)
        elif kind != UNVERIFIED:
            identity.setdefault(account_id, []).append((kind, key))
    accounts = raw_rows(
        session,
        "SELECT account_id, login, consuming FROM cloud_accounts WHERE enterprise_id = ? "
        "ORDER BY account_id",
        enterprise_id,
    )
    return [
        CloudIdentity(
            account_id,
            login,
            bool(consuming),
            tuple(sorted(verified.get(account_id, ()))),
            tuple(sorted(identity.get(account_id, ()))),
        )
        for account_id, login, consuming in accounts
    ]


def build_index(session: Session, enterprise: Enterprise) -> AccountsIndex:
    identities = load_cloud_identities(session, enterprise.id)
    return make_index(
        enterprise.id, enterprise.accounts_version, identities, enterprise.saml_enabled
    )


_VERIFIED_KEYS = (
    # Highest account first, so that the lowest wins in the dict built from the rows, as in
    # Matcher (the import already refuses an address verified by two accounts).
    "SELECT key, account_id FROM cloud_account_keys WHERE enterprise_id = ? AND kind = ? "
    "ORDER BY account_id DESC"
)


def build_figure_index(session: Session, enterprise: Enterprise) -> AccountsIndex:
    """What the figure needs, read as plain pairs: without SAML, which account verified
    each address and which accounts consume. No identity objects: a cold start reads
    100,000s of accounts. With SAML the full matcher decides (identities win)."""
    if enterprise.saml_enabled:
        return build_index(session, enterprise)
    verified = raw_rows(session, _VERIFIED_KEYS, enterprise.id, VERIFIED)
    accounts = raw_rows(
        session,
        "SELECT account_id, consuming FROM cloud_accounts WHERE enterprise_id = ?",
        enterprise.id,
    )
    return AccountsIndex(
        enterprise.id,
        enterprise.accounts_version,
        None,
        None,
        frozenset(f"{CLOUD_PREFIX}{account_id}" for account_id, c in accounts if c),
        {key: f"{CLOUD_PREFIX}{account_id}" for key, account_id in verified},
        frozenset(f"{CLOUD_PREFIX}{account_id}" for account_id, _ in accounts),
    )


def make_index(
    enterprise_id: int, version: int, identities: list[CloudIdentity], saml_enabled: bool
) -> AccountsIndex:
    matcher = Matcher(identities, saml_enabled=saml_enabled)
    # Resolving every address a cloud account answers to once, up front, turns matching
    # each GHES account into one dictionary lookup. A verified e-mail belongs to one
    # account (the import enforces it); identity attributes, when used, win over it.
    resolved = {
        address: f"{CLOUD_PREFIX}{account.account_id}"
        for address, account in matcher.verified.items()
    }
    if saml_enabled:
        for address in matcher.identity:
            found = matcher.match(address)
            if found is not None:
                resolved[address] = f"{CLOUD_PREFIX}{found.account.account_id}"
    return AccountsIndex(
        enterprise_id,
        version,
        identities,
        matcher,
        frozenset(f"{CLOUD_PREFIX}{i.account_id}" for i in identities if i.consuming),
        resolved,
        frozenset(f"{CLOUD_PREFIX}{i.account_id}" for i in identities),
    )


def person_keys(instance_pk: int, accounts: InstanceKeys, index: AccountsIndex) -> set[str]:
    """One key per person this instance's accounts belong to: an address no cloud account
    answers to is its own key, one that some account answers to becomes that account's."""
    keys = set(accounts.email_keys)
    matched = index.resolved.keys() & keys  # set operations: C speed over 100,000s
    if matched:
        keys -= matched
        resolved = index.resolved
        keys.update([resolved[key] for key in matched])
    if accounts.no_email_ids:
        keys.update(
            f"{NO_EMAIL_PREFIX}{instance_pk}:{user_id}" for user_id in accounts.no_email_ids
        )
    return keys


def figures_from_keys(
    keys_by_instance: Mapping[int, set[str]], index: AccountsIndex
) -> LicenseFigures:
    """The same figures as ``license_figures(match_persons(...))``, from key sets alone
    (set operations run in C: this is the hot path of every figure)."""
    sets = list(keys_by_instance.values())
    everyone: set[str]
    singles: set[str]  # keys of persons on exactly one instance
    if len(sets) == 1:
        everyone = singles = sets[0]  # only read below: no copy
    else:
        everyone, singles = set(), set()
        for keys in sets:
            singles -= keys & everyone
            singles |= keys - everyone
            everyone |= keys
    with_cloud = len(index.cloud_keys.intersection(everyone))
    cloud_only = len(index.consuming.difference(everyone))
    alone = singles - index.consuming if index.consuming else singles
    unique = {
        instance: n for instance, keys in keys_by_instance.items() if (n := len(keys & alone))
    }
    return LicenseFigures(
        consumed=len(everyone) + cloud_only,
        cloud_only=cloud_only,
        server_only=len(everyone) - with_cloud,
        both=with_cloud,
        unique_by_instance=unique,
    )


class SizedLru(Generic[V]):
    """Values by key, least recently used dropped first once their sizes add up to more
    than ``limit`` (the newest always stays). Not locked: the owner holds its lock."""

    def __init__(self, limit: int, size: Callable[[V], int]) -> None:
        self._items: OrderedDict[str, V] = OrderedDict()
        self._limit = limit
        self._size = size
        self._total = 0

    def get(self, key: str) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: str, value: V) -> None:
        if key in self._items:
            return
        self._items[key] = value
        self._total += self._size(value)
        while self._total > self._limit and len(self._items) > 1:
            _, evicted = self._items.popitem(last=False)
            self._total -= self._size(evicted)


class LicenseCache:
    """Per-process caches; bounded, thread-safe, and never trusted without a version check."""

    def __init__(self, max_cached_accounts: int = 5_000_000) -> None:
        self._instances: SizedLru[InstanceAccounts] = SizedLru(
            max_cached_accounts, lambda accounts: len(accounts.user_ids)
        )
        self._report_keys: SizedLru[InstanceKeys] = SizedLru(
            max_cached_accounts, lambda keys: len(keys.email_keys) + len(keys.no_email_ids)
        )
        self._indexes: dict[int, AccountsIndex] = {}
        self._keys: OrderedDict[tuple[str, int], set[str]] = OrderedDict()
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

    def get(self, session: Session, enterprise: Enterprise) -> LicenseState:
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
        index = self._index(session, enterprise, keep=keep)
        reports = current_reports(session, enterprise.id)
        keys_by_instance = {}
        for report in reports:
            if pending is not None and report.report_id == pending.report_id:
                keys = person_keys(report.instance_pk, pending, index)
            else:
                keys = self._person_keys(session, report, index, keep=keep)
            keys_by_instance[report.instance_pk] = keys
        with self._lock:
            base = self._tallies.get(enterprise.id)
        if base is None and pending is None:
            # A cold read: set arithmetic is the quickest count from scratch.
            figures = figures_from_keys(keys_by_instance, index)
            return FigureState(enterprise.id, enterprise.data_version, figures, utcnow())
        # Reports arrive: keep a tally, so that the next report costs only what it changes.
        mapping = {report.instance_pk: report.report_id for report in reports}
        tally = (
            update_tally(base, index.version, mapping, keys_by_instance, index.consuming)
            if base is not None
            else build_tally(index.version, mapping, keys_by_instance, index.consuming)
        )
        figures = figures_from_tally(tally, index.consuming, index.cloud_keys)
        return FigureState(enterprise.id, enterprise.data_version, figures, utcnow(), tally)

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
                self._keys[cache_key] = keys
                while len(self._keys) > 256:
                    self._keys.popitem(last=False)
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
