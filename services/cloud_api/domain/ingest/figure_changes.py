"""Every change that can move the figure, recorded as a history point with the persons who
started and stopped consuming (see ``history_points.py``), and told to the hooks'
thresholds (``events/thresholds.py``) in the same transaction; a change of the purchased
seats, which moves no one, is told to the thresholds too.

Each function takes the enterprise's lock, computes the state before the change, makes
the change, computes the state after it from the one before (a new report costs only the
keys it changes), and records the difference. The caller owns the transaction and, after
it commits, keeps the returned state with ``LicenseEngine.store_figures``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import Enterprise, IdentityLink, Report, ServerInstance
from services.cloud_api.domain.accounts import identity_links
from services.cloud_api.domain.accounts.identity_links import LinkRequest
from services.cloud_api.domain.accounts.importing import ImportResult, replace_accounts
from services.cloud_api.domain.accounts.input import CloudAccountInput
from services.cloud_api.domain.accounts.visual_studio import replace_subscribers
from services.cloud_api.domain.errors import NotFoundError
from services.cloud_api.domain.events.thresholds import figure_changed
from services.cloud_api.domain.ingest.change_reasons import matching_reasons, report_reasons
from services.cloud_api.domain.ingest.changed_persons import (
    CloudInfo,
    Holder,
    ServerAccountAt,
    Where,
    changed_persons,
    load_cloud_info,
    server_accounts_of,
)
from services.cloud_api.domain.ingest.history_points import (
    Cause,
    PointSubject,
    Reason,
    lock_enterprise,
    record_point,
)
from services.cloud_api.domain.licensing.engine import FigureState, LicenseEngine, Tallied
from services.cloud_api.domain.licensing.index import AccountsIndex, imported_figure_index
from services.cloud_api.domain.licensing.loaders import (
    CurrentReport,
    InstanceAccounts,
    InstanceKeys,
    current_reports,
    load_links,
    raw_rows,
)
from services.cloud_api.domain.licensing.rules import Links
from services.cloud_api.domain.licensing.transitions import KeyChanges, key_changes
from services.cloud_api.domain.tenants import enterprises
from services.cloud_api.domain.tenants.enterprises import enterprise_by_slug
from services.cloud_api.domain.tenants.instances import disconnect_instance, find_instance
from services.cloud_api.schemas import VisualStudioSubscriberInput


def record_report(
    session: Session,
    engine: LicenseEngine,
    instance: ServerInstance,
    report: Report,
    previous: CurrentReport | None,
    accounts: InstanceAccounts,
    pending: InstanceKeys,
) -> FigureState:
    """``report`` has just become ``instance``'s current report in place of ``previous``,
    whose users are still stored."""
    enterprise = session.get_one(Enterprise, instance.enterprise_id)
    lock_enterprise(session, enterprise)
    now = current_reports(session, enterprise.id)
    was = [r for r in now if r.instance_pk != instance.id] + ([previous] if previous else [])
    before = engine.tallied(session, enterprise, keep=True, reports=was)
    after = engine.tallied(
        session, enterprise, keep=True, reports=now, pending=pending, base=before.tally
    )
    changes = _changes(before, after)
    where = Where(instance.id, instance.server_id, report.hostname)
    old = engine.instance_accounts(session, previous) if previous and _any(changes) else None
    index = after.index
    links = (
        _instance_links(load_links(session, enterprise.id), instance.id) if _any(changes) else {}
    )
    started = server_accounts_of(changes.started, [Holder(where, accounts, links)], index)
    stopped = server_accounts_of(changes.stopped, [Holder(where, old, links)] if old else [], index)
    reasons = report_reasons(
        changes, (started, stopped), instance.id, (old, accounts), index, links
    )
    cloud = load_cloud_info(session, enterprise.id, changes.started | changes.stopped)
    persons = changed_persons(changes, reasons, (started, cloud), (stopped, cloud))
    names = {instance.id: (instance.server_id, report.hostname)}
    subject = PointSubject(report.id, report.server_id, report.hostname, names)
    record_point(
        session, enterprise.id, Cause.REPORT, after.state.figures.consumed, persons, subject
    )
    engine.write_figures(session, after.state)
    figure_changed(session, enterprise, after.state.figures.consumed)
    return after.state


def import_accounts(
    session: Session,
    engine: LicenseEngine,
    enterprise: Enterprise,
    accounts: Sequence[CloudAccountInput],
) -> tuple[ImportResult, FigureState]:
    lock_enterprise(session, enterprise)
    before = engine.tallied(session, enterprise, keep=True)
    cloud_before = _all_cloud_info(session, enterprise.id)
    result = replace_accounts(session, enterprise, accounts)
    # The accounts as now stored, from the import itself rather than read back.
    cloud_after = {
        account["id"]: (account["login"], consuming)
        for account, (_, consuming) in zip(accounts, result.consumption, strict=True)
    }
    session.flush()
    session.refresh(enterprise)
    index = imported_figure_index(session, enterprise, result.verified, result.consumption)
    state = _record_matching_change(
        session,
        engine,
        enterprise,
        before,
        cloud_before,
        Cause.ACCOUNTS_IMPORT,
        cloud_after,
        index=index,
    )
    return result, state


def create_identity_link(
    session: Session, engine: LicenseEngine, enterprise: Enterprise, request: LinkRequest
) -> tuple[IdentityLink, FigureState]:
    """The link applies at once: the persons it joins or splits are a history point."""
    return _change_links(
        session,
        engine,
        enterprise,
        Cause.IDENTITY_LINK_CREATED,
        lambda: identity_links.create_link(session, enterprise, request),
    )


def delete_identity_link(
    session: Session, engine: LicenseEngine, enterprise: Enterprise, link_id: int
) -> tuple[IdentityLink, FigureState]:
    return _change_links(
        session,
        engine,
        enterprise,
        Cause.IDENTITY_LINK_DELETED,
        lambda: identity_links.delete_link(session, enterprise, link_id),
    )


def _change_links(
    session: Session,
    engine: LicenseEngine,
    enterprise: Enterprise,
    cause: Cause,
    change: Callable[[], IdentityLink],
) -> tuple[IdentityLink, FigureState]:
    lock_enterprise(session, enterprise)
    before = engine.tallied(session, enterprise, keep=True)
    links_before = load_links(session, enterprise.id)
    link = change()
    state = _record_matching_change(
        session, engine, enterprise, before, None, cause, links_before=links_before
    )
    return link, state


def import_subscriptions(
    session: Session,
    engine: LicenseEngine,
    enterprise: Enterprise,
    subscribers: Sequence[VisualStudioSubscriberInput],
) -> tuple[int, FigureState]:
    """Only cloud accounts consuming nothing else start or stop with a subscription: every
    other person consumes either way (one license, of the other type)."""
    lock_enterprise(session, enterprise)
    before = engine.tallied(session, enterprise, keep=True)
    count = replace_subscribers(session, enterprise, subscribers)
    state = _record_matching_change(
        session, engine, enterprise, before, None, Cause.VISUAL_STUDIO_IMPORT
    )
    return count, state


def update_enterprise(
    session: Session,
    engine: LicenseEngine,
    slug: str,
    *,
    name: str | None = None,
    seats_purchased: int | None = None,
    saml_enabled: bool | None = None,
) -> tuple[Enterprise, FigureState | None]:
    """Name and seats change no one's consumption; switching SAML changes the matching,
    and is a history point (the state is None when the matching stayed)."""
    enterprise = enterprise_by_slug(session, slug)
    if saml_enabled is None or saml_enabled == enterprise.saml_enabled:
        seats_before = enterprise.seats_purchased
        updated = enterprises.update_enterprise(
            session, slug, name=name, seats_purchased=seats_purchased
        )
        if updated.seats_purchased != seats_before:
            # The thresholds are percentages of the seats: they may be crossed now.
            session.flush()  # the UPDATE takes the enterprise's row lock
            figure_changed(session, updated, engine.figures(session, updated).figures.consumed)
        return updated, None
    lock_enterprise(session, enterprise)
    before = engine.tallied(session, enterprise, keep=True)
    enterprises.update_enterprise(
        session, slug, name=name, seats_purchased=seats_purchased, saml_enabled=saml_enabled
    )
    state = _record_matching_change(session, engine, enterprise, before, None, Cause.SAML_CHANGED)
    return enterprise, state


def disconnect(
    session: Session, engine: LicenseEngine, enterprise: Enterprise, server_id: str
) -> tuple[ServerInstance, FigureState]:
    """The instance's report stops counting: the persons only it brought stop."""
    instance = find_instance(session, enterprise.id, server_id)
    if instance is None:
        raise NotFoundError(f"server instance {server_id} not found")
    lock_enterprise(session, enterprise)
    reports = current_reports(session, enterprise.id)
    before = engine.tallied(session, enterprise, keep=True, reports=reports)
    remaining = [r for r in reports if r.instance_pk != instance.id]
    after = engine.tallied(session, enterprise, keep=True, reports=remaining, base=before.tally)
    changes = _changes(before, after)
    stopped: dict[str, list[ServerAccountAt]] = {}
    gone = [r for r in reports if r.instance_pk == instance.id]
    if changes.stopped and gone:
        where = Where(instance.id, instance.server_id, instance.hostname)
        links = _instance_links(load_links(session, enterprise.id), instance.id)
        holder = Holder(where, engine.instance_accounts(session, gone[0]), links)
        stopped = server_accounts_of(changes.stopped, [holder], before.index)
    cloud = load_cloud_info(session, enterprise.id, changes.stopped)
    reasons = dict.fromkeys(changes.stopped, Reason.INSTANCE_DISCONNECTED)
    persons = changed_persons(changes, reasons, ({}, cloud), (stopped, cloud))
    names = {instance.id: (instance.server_id, instance.hostname)}
    subject = PointSubject(None, instance.server_id, instance.hostname, names)
    disconnected = disconnect_instance(session, enterprise, server_id)
    session.flush()
    session.refresh(enterprise)
    total = after.state.figures.consumed
    record_point(session, enterprise.id, Cause.INSTANCE_DISCONNECTED, total, persons, subject)
    state = dataclasses.replace(after.state, data_version=enterprise.data_version)
    engine.write_figures(session, state)
    figure_changed(session, enterprise, total)
    return disconnected, state


def _record_matching_change(
    session: Session,
    engine: LicenseEngine,
    enterprise: Enterprise,
    before: Tallied,
    cloud_before: CloudInfo | None,
    cause: Cause,
    cloud_after: CloudInfo | None = None,
    links_before: Links | None = None,
    index: AccountsIndex | None = None,
) -> FigureState:
    """The cloud accounts or the matching rules changed (not yet committed: nothing
    derived from them is kept); every instance's keys may have moved. ``links_before``:
    the identity links before the change, when it changed them; ``index``: the accounts'
    index when the caller has it from the change itself."""
    session.flush()
    session.refresh(enterprise)
    after = engine.tallied(session, enterprise, keep=False, index=index)
    changes = _changes(before, after)
    reports = current_reports(session, enterprise.id)
    links = load_links(session, enterprise.id) if _any(changes) else {}
    if links_before is None:
        links_before = links
    after_holders = _holders(session, engine, reports, after, changes.started, links)
    before_holders = _holders(session, engine, reports, before, changes.stopped, links_before)
    started = server_accounts_of(changes.started, after_holders, after.index)
    stopped = server_accounts_of(changes.stopped, before_holders, before.index)
    reasons = matching_reasons(changes, before.index, after.index)
    if cause is Cause.VISUAL_STUDIO_IMPORT:  # the subscribers are all that changed
        reasons = {
            key: Reason.SUBSCRIPTION_ADDED
            if key in changes.started
            else Reason.SUBSCRIPTION_REMOVED
            for key in reasons
        }
    if cloud_after is None:
        cloud_after = load_cloud_info(session, enterprise.id, changes.started | changes.stopped)
    persons = changed_persons(
        changes, reasons, (started, cloud_after), (stopped, cloud_before or cloud_after)
    )
    names = {
        h.where.instance_pk: (h.where.server_id, h.where.hostname)
        for h in [*after_holders, *before_holders]
    }
    subject = PointSubject(instances=names)
    record_point(session, enterprise.id, cause, after.state.figures.consumed, persons, subject)
    engine.write_figures(session, after.state)
    figure_changed(session, enterprise, after.state.figures.consumed)
    return after.state


def _holders(
    session: Session,
    engine: LicenseEngine,
    reports: list[CurrentReport],
    state: Tallied,
    keys: frozenset[str],
    links: Links,
) -> list[Holder]:
    """The instances that hold some of ``keys`` in ``state`` (set arithmetic first, so
    only those instances' users are walked)."""
    if not keys:
        return []
    names = _instance_names(session, [r.instance_pk for r in reports])
    return [
        Holder(
            names[report.instance_pk],
            engine.instance_accounts(session, report),
            _instance_links(links, report.instance_pk),
        )
        for report in reports
        if not keys.isdisjoint(state.tally.keys.get(report.instance_pk, ()))
    ]


def _instance_links(links: Links, instance_pk: int) -> dict[int, int | None]:
    """One instance's identity links: user ID -> cloud account, None: kept separate."""
    return {user_id: target for (pk, user_id), target in links.items() if pk == instance_pk}


def _instance_names(session: Session, instance_pks: list[int]) -> dict[int, Where]:
    rows = session.execute(
        select(ServerInstance.id, ServerInstance.server_id, ServerInstance.hostname).where(
            ServerInstance.id.in_(instance_pks)
        )
    )
    return {pk: Where(pk, server_id, hostname) for pk, server_id, hostname in rows}


def _all_cloud_info(session: Session, enterprise_id: int) -> CloudInfo:
    """Every cloud account as it was before an import replaces them."""
    rows = raw_rows(
        session,
        "SELECT account_id, login, consuming FROM cloud_accounts WHERE enterprise_id = ?",
        enterprise_id,
    )
    return {account_id: (login, bool(consuming)) for account_id, login, consuming in rows}


def _changes(before: Tallied, after: Tallied) -> KeyChanges:
    return key_changes(before.tally, before.index.consuming, after.tally, after.index.consuming)


def _any(changes: KeyChanges) -> bool:
    return bool(changes.started or changes.stopped)
