"""Who each Visual Studio subscriber was matched to, and who was matched to nobody."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.cloud_api.domain.licensing.cloud_reads import CloudReads
from services.cloud_api.domain.licensing.engine import LicenseEngine
from services.cloud_api.domain.licensing.loaders import load_subscribers
from services.cloud_api.domain.licensing.roster import order_key
from services.cloud_api.domain.licensing.rules import Person
from services.cloud_api.domain.reporting.licenses import persons_of, server_account_ref
from services.cloud_api.domain.tenants.enterprises import get_enterprise
from services.cloud_api.domain.tenants.instances import list_instances
from services.cloud_api.schemas import (
    CloudAccountRef,
    VisualStudioSubscribersView,
    VisualStudioSubscriberView,
)

MATCHED = "Matched"
"""GitHub's documented status of a subscriber linked to an account (NOTES-wave2 1.5)."""


def subscribers_view(
    session: Session, engine: LicenseEngine, enterprise_id: int, matched: bool | None = None
) -> VisualStudioSubscribersView:
    """Every subscriber by UPN (``matched`` filters), with the person it was matched to."""
    enterprise = get_enterprise(session, enterprise_id)
    _, listing = engine.listing(session, enterprise)
    # Only the persons holding a subscription are built, not the listing's every person.
    reads = CloudReads(session, enterprise.id, enterprise.saml_enabled)
    held = sorted(listing.overrides.subscriptions, key=order_key(listing.logins))
    holders: dict[str, Person] = {
        subscriber.upn_key: person
        for person in persons_of(listing, held, reads)
        for subscriber in person.subscriptions
    }
    instances = {i.id: i for i in list_instances(session, enterprise_id)}
    views = []
    subscribers = load_subscribers(session, enterprise_id)
    for subscriber in subscribers:
        person = holders.get(subscriber.upn_key)
        if matched is not None and (person is not None) != matched:
            continue
        cloud = person.cloud if person is not None else None
        views.append(
            VisualStudioSubscriberView(
                upn=subscriber.upn,
                subscription=subscriber.subscription,
                visual_studio_license_status=MATCHED if person is not None else None,
                cloud_account=(
                    CloudAccountRef(
                        id=cloud.account_id, login=cloud.login, consuming=cloud.consuming
                    )
                    if cloud is not None
                    else None
                ),
                server_accounts=[
                    server_account_ref(account, instances.get(account.instance))
                    for account in (person.server_accounts if person is not None else [])
                ],
            )
        )
    total_matched = sum(1 for s in subscribers if s.upn_key in holders)
    return VisualStudioSubscribersView(
        total=len(subscribers),
        matched=total_matched,
        unmatched=len(subscribers) - total_matched,
        subscribers=views,
    )
