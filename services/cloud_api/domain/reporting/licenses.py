"""``GET /enterprise/licenses``: the figures, each instance's status, and pages of persons."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import Report, ServerInstance
from services.cloud_api.domain.accounts.identity_links import link_states, links_by_account
from services.cloud_api.domain.licensing.cloud_reads import CloudReads
from services.cloud_api.domain.licensing.committers import NONE, Committers, person_commits
from services.cloud_api.domain.licensing.engine import FigureState, LicenseEngine
from services.cloud_api.domain.licensing.listing import Listing
from services.cloud_api.domain.licensing.roster import kind_of
from services.cloud_api.domain.licensing.rules import Person, ServerAccount
from services.cloud_api.domain.reporting.forecast import load_forecast
from services.cloud_api.domain.tenants.enterprises import get_enterprise
from services.cloud_api.domain.tenants.instances import list_instances
from services.cloud_api.schemas import (
    AdvancedSecurity,
    Breakdown,
    CloudAccountView,
    ForecastView,
    IdentityLinkView,
    InstanceStatus,
    LastSync,
    LicensesView,
    PersonView,
    ServerAccountView,
)


@dataclass(frozen=True, slots=True)
class Paging:
    page: int = 1
    per_page: int = 30
    search: str | None = None
    """Case-insensitive text a listed person's login, e-mails, IDs or match must contain."""

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def enterprise_licenses(
    session: Session, cache: LicenseEngine, enterprise_id: int, users: Paging | None = None
) -> LicensesView:
    enterprise = get_enterprise(session, enterprise_id)
    # Totals alone take the fast path; a page of persons is built for the page only.
    listing = None
    if users is not None:
        state, listing = cache.listing(session, enterprise)
    else:
        state = cache.figures(session, enterprise)
    instances = list_instances(session, enterprise_id)
    view = LicensesView(
        enterprise=enterprise.slug,
        name=enterprise.name,
        total_seats_purchased=enterprise.seats_purchased,
        total_seats_consumed=state.figures.consumed,
        computed_at=state.computed_at,
        breakdown=Breakdown(
            cloud_only=state.figures.cloud_only,
            server_only=state.figures.server_only,
            both=state.figures.both,
        ),
        advanced_security=AdvancedSecurity(**asdict(state.advanced_security)),
        server_instances=instance_statuses(session, instances, state),
        forecast=_forecast(session, enterprise_id, enterprise.seats_purchased),
    )
    if users is not None and listing is not None:
        by_pk = {instance.id: instance for instance in instances}
        reads = CloudReads(session, enterprise.id, enterprise.saml_enabled)
        total, page = persons_page(listing, users, reads)
        committers = cache.committers(session, enterprise)
        links = links_by_account(link_states(session, enterprise_id))
        view.users = [person_view(person, by_pk, committers, links) for person in page]
        view.page, view.per_page, view.total_persons = users.page, users.per_page, total
    return view


def _forecast(session: Session, enterprise_id: int, seats: int) -> ForecastView:
    found = load_forecast(session, enterprise_id, seats)
    return ForecastView(
        seats_exhausted_on=found.seats_exhausted_on,
        per_week=found.per_week,
        weeks_observed=found.weeks_observed,
    )


def persons_page(listing: Listing, paging: Paging, reads: CloudReads) -> tuple[int, list[Person]]:
    """How many persons the listing (or the search) holds, and the page's persons."""
    if paging.search is None:
        return listing.total, listing.page(paging.offset, paging.per_page, reads)
    found = listing.search(paging.search, reads)
    chosen = found[paging.offset : paging.offset + paging.per_page]
    return len(found), persons_of(listing, chosen, reads)


def persons_of(listing: Listing, keys: list[str], reads: CloudReads) -> list[Person]:
    """The persons of ``keys`` (in listing order), grouped by kind as the listing asks."""
    persons: list[Person] = []
    for kind in sorted({kind_of(key) for key in keys}):
        chosen = [k for k in keys if kind_of(k) == kind]
        persons += listing.persons(kind, chosen, reads, run=False)
    return persons


def instance_statuses(
    session: Session, instances: list[ServerInstance], state: FigureState
) -> list[InstanceStatus]:
    report_pks = [i.current_report_pk for i in instances if i.current_report_pk is not None]
    reports = {
        row.id: row for row in session.scalars(select(Report).where(Report.id.in_(report_pks)))
    }
    statuses = []
    for instance in instances:
        report = reports.get(instance.current_report_pk or -1)
        last_sync = None
        if instance.last_sync_status is not None:
            last_sync = LastSync(
                date=instance.last_sync_at,
                status=instance.last_sync_status,
                error=instance.last_sync_error or "",
            )
        statuses.append(
            InstanceStatus(
                server_id=instance.server_id,
                hostname=instance.hostname,
                source=instance.current_source,
                upload_only=instance.upload_only,
                last_sync=last_sync,
                current_sequence=instance.current_sequence,
                accounts_reported=report.user_count if report else 0,
                suspended_excluded=report.suspended_excluded if report else 0,
                persons_only_here=state.figures.unique_by_instance.get(instance.id, 0),
                advanced_security_committers=(
                    report.advanced_security_committers if report else None
                ),
            )
        )
    return statuses


def person_view(
    person: Person,
    instances: dict[int, ServerInstance],
    committers: Committers = NONE,
    links: Mapping[tuple[int, int], IdentityLinkView] | None = None,
) -> PersonView:
    """``links``: the identity links by the GHES account they name (``links_by_account``)."""
    cloud = person.cloud
    match = person.match
    return PersonView(
        cloud_account=(
            CloudAccountView(
                id=cloud.account_id,
                login=cloud.login,
                consuming=cloud.consuming,
                advanced_security_committer=cloud.account_id in committers.cloud,
            )
            if cloud
            else None
        ),
        server_accounts=[
            server_account_ref(account, instances.get(account.instance), committers)
            for account in person.server_accounts
        ],
        total_user_accounts=person.total_user_accounts,
        match_rule=person.rule.value,
        matched_attribute=match.attribute if match else None,
        ambiguous=match.ambiguous if match else False,
        candidate_cloud_account_ids=list(match.candidates) if match else [],
        advanced_security_committer=any(person_commits(person, committers)),
        license_type=license_type(person),
        visual_studio_subscription_email=(
            person.subscriptions[0].upn if person.subscriptions else None
        ),
        identity_links=[
            links[(account.instance, account.user_id)]
            for account in person.server_accounts
            if links and (account.instance, account.user_id) in links
        ],
    )


VISUAL_STUDIO: Literal["Visual Studio subscription"] = "Visual Studio subscription"


def license_type(person: Person) -> Literal["Enterprise", "Visual Studio subscription"]:
    """GitHub's two license types: a person a Visual Studio subscriber was matched to
    consumes the subscription's license instead of an Enterprise one (NOTES-wave2 1.4)."""
    return VISUAL_STUDIO if person.subscriptions else "Enterprise"


def server_account_ref(
    account: ServerAccount, instance: ServerInstance | None, committers: Committers = NONE
) -> ServerAccountView:
    # The instance may have been disconnected since the state was computed.
    return ServerAccountView(
        server_id=instance.server_id if instance else None,
        hostname=instance.hostname if instance else "disconnected",
        user_id=account.user_id,
        email=account.email,
        advanced_security_committer=committers.server_committer(account.instance, account.user_id),
    )
