"""Why accounts were, or were not, merged into one person: the answer to "why is this
person billed twice?" (SPEC section 2, explanations)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import CloudAccount, CloudAccountKey, ServerInstance
from services.cloud_api.domain.accounts.identity_links import link_states, links_by_account
from services.cloud_api.domain.accounts.importing import UNVERIFIED, VERIFIED
from services.cloud_api.domain.errors import InvalidInputError
from services.cloud_api.domain.licensing.cloud_reads import CloudReads
from services.cloud_api.domain.licensing.engine import LicenseEngine
from services.cloud_api.domain.licensing.index import cloud_key
from services.cloud_api.domain.licensing.listing import Listing
from services.cloud_api.domain.licensing.roster import order_key
from services.cloud_api.domain.licensing.rules import Match, Person, ServerAccount
from services.cloud_api.domain.reporting.licenses import (
    person_view,
    persons_of,
    server_account_ref,
)
from services.cloud_api.domain.tenants.enterprises import get_enterprise
from services.cloud_api.domain.tenants.instances import list_instances
from services.cloud_api.schemas import AccountCarrying, ExplainView, IdentityLinkView, NearMiss
from shared import InvalidEmailError, normalize_email

ONLY_PRIMARIES = (
    "Only the primary e-mail of a GHES account is sent to the cloud; secondary e-mails on "
    "GHES are never sent and never matched."
)


def loose_form(key: str) -> str:
    """The address with any +tag and every dot of the local part removed: equal loose forms
    of different addresses are the near misses administrators expect to be one person."""
    local, _, domain = key.rpartition("@")
    return f"{local.split('+', 1)[0].replace('.', '')}@{domain}"


def explain_email(
    session: Session, engine: LicenseEngine, enterprise_id: int, email: str
) -> ExplainView:
    try:
        key = normalize_email(email)
    except InvalidEmailError as error:
        raise InvalidInputError(f"email: not a valid e-mail address: {error}") from None
    enterprise = get_enterprise(session, enterprise_id)
    _, listing = engine.listing(session, enterprise)
    reads = CloudReads(session, enterprise.id, enterprise.saml_enabled)
    instances = {i.id: i for i in list_instances(session, enterprise_id)}
    committers = engine.committers(session, enterprise)
    carrying = _cloud_accounts_carrying(session, enterprise_id, key)
    touched = _persons_touching(listing, reads, key, {a.id for a in carrying})
    server = [
        server_account_ref(account, instances.get(account.instance), committers)
        for account in _accounts_with(listing, key)
    ]
    misses = _near_misses(session, enterprise_id, key, carrying, enterprise.saml_enabled)
    misses += _server_variants(listing, key, instances)
    # The figure's own matcher: it knows every cloud account, also those that consume
    # nothing and belong to no person, which can still make a match ambiguous.
    misses += _ambiguity(reads.matcher([key]).match(key))
    links = links_by_account(link_states(session, enterprise_id))
    notes = [ONLY_PRIMARIES, *_link_notes(touched, links)]
    return ExplainView(
        email=email,
        normalized=key,
        saml_enabled=enterprise.saml_enabled,
        server_accounts=server,
        cloud_accounts=carrying,
        persons=[person_view(person, instances, committers, links) for person in touched],
        merged=len(touched) <= 1,
        near_misses=misses,
        notes=notes,
    )


def _accounts_with(listing: Listing, key: str) -> list[ServerAccount]:
    return [
        account
        for report in listing.reports
        for at in report.lookup.with_key(key)
        for account in [listing.account(report, report.lookup.by_key[at])]
    ]


def _link_notes(persons: list[Person], links: dict[tuple[int, int], IdentityLinkView]) -> list[str]:
    """Each identity link that decides (or, dangling, would decide) a person's accounts."""
    notes = []
    for person in persons:
        for account in person.server_accounts:
            link = links.get((account.instance, account.user_id))
            if link is None:
                continue
            where = f"GHES account {link.server_id}:{link.user_id}"
            what = (
                "is kept separate from every automatic merge"
                if link.separate
                else f"is joined to cloud account {link.cloud_account_id}"
            )
            if link.state == "applied":
                notes.append(f"{where} {what} by identity link {link.id}")
            else:
                notes.append(
                    f"identity link {link.id} ({where} {what}) is dangling and not applied: "
                    f"{link.dangling_reason}"
                )
    return notes


def _server_variants(
    listing: Listing, key: str, instances: dict[int, ServerInstance]
) -> list[NearMiss]:
    order = order_key(listing.logins)
    variants = sorted(
        _variant_accounts(listing, key),
        key=lambda a: (order(listing.person_key(a)), a.instance, a.user_id),
    )
    return [
        NearMiss(
            reason="tag_or_dot_variant",
            detail=(
                f"GHES account {ref.hostname}:{ref.user_id} has {ref.email}, which differs "
                "only by a +tag or dots; such addresses are different people"
            ),
            address=ref.email,
        )
        for account in variants
        for ref in [server_account_ref(account, instances.get(account.instance))]
    ]


def _variant_accounts(listing: Listing, key: str) -> list[ServerAccount]:
    """GHES accounts whose address has the same loose form as ``key`` but is another.
    Such an address starts with the loose form's first character: only the keys from
    there are compared (a binary search in each report, not a scan of them all)."""
    loose = loose_form(key)
    first = loose[0] if not loose.startswith("@") else ""
    found = []
    for report in listing.reports:
        lookup, keys = report.lookup, report.lookup.accounts.email_keys
        start = lookup.from_key(first) if first else 0
        stop = lookup.from_key(chr(ord(first) + 1)) if first else len(lookup.by_key)
        for at in range(start, stop):
            position = lookup.by_key[at]
            other = keys[position]
            if other is not None and other != key and loose_form(other) == loose:
                found.append(listing.account(report, position))
    return found


def _ambiguity(match: Match | None) -> list[NearMiss]:
    if match is None or not match.ambiguous:
        return []
    return [
        NearMiss(
            reason="ambiguous",
            detail=(
                f"cloud accounts {', '.join(map(str, match.candidates))} all claim this "
                f"address; account {match.account.account_id} was chosen "
                "(identity attribute over verified e-mail, then the lowest ID)"
            ),
            cloud_account_id=match.account.account_id,
        )
    ]


def _cloud_accounts_carrying(
    session: Session, enterprise_id: int, key: str
) -> list[AccountCarrying]:
    rows = session.execute(
        select(CloudAccountKey.account_id, CloudAccount.login, CloudAccountKey.kind)
        .join(
            CloudAccount,
            (CloudAccount.enterprise_id == CloudAccountKey.enterprise_id)
            & (CloudAccount.account_id == CloudAccountKey.account_id),
        )
        .where(CloudAccountKey.enterprise_id == enterprise_id, CloudAccountKey.key == key)
        .order_by(CloudAccountKey.account_id, CloudAccountKey.kind)
    )
    return [AccountCarrying(id=i, login=login, attribute=kind) for i, login, kind in rows]


def _persons_touching(
    listing: Listing, reads: CloudReads, key: str, cloud_ids: set[int]
) -> list[Person]:
    keys = {cloud_key(i) for i in cloud_ids if listing.listed(cloud_key(i))}
    keys.update(listing.person_key(account) for account in _accounts_with(listing, key))
    return persons_of(listing, sorted(keys, key=order_key(listing.logins)), reads)


def _near_misses(
    session: Session,
    enterprise_id: int,
    key: str,
    carrying: list[AccountCarrying],
    saml_enabled: bool,
) -> list[NearMiss]:
    misses = []
    for account in carrying:
        if account.attribute == UNVERIFIED:
            misses.append(
                NearMiss(
                    reason="unverified_email",
                    detail=(
                        f"cloud account {account.login} has this address but has not "
                        "verified it; unverified e-mails never match"
                    ),
                    cloud_account_id=account.id,
                )
            )
        elif account.attribute != VERIFIED and not saml_enabled:
            misses.append(
                NearMiss(
                    reason="saml_disabled",
                    detail=(
                        f"the {account.attribute} of cloud account {account.login}'s linked "
                        "identity equals this address, but the enterprise does not use SAML "
                        "or SCIM, so identities are not matched"
                    ),
                    cloud_account_id=account.id,
                )
            )
    misses.extend(_variants(session, enterprise_id, key))
    return misses


def _variants(session: Session, enterprise_id: int, key: str) -> list[NearMiss]:
    domain = key.rpartition("@")[2]
    loose = loose_form(key)
    rows = session.execute(
        select(CloudAccountKey.account_id, CloudAccountKey.key)
        .where(
            CloudAccountKey.enterprise_id == enterprise_id,
            CloudAccountKey.key.like(f"%@{domain}"),
            CloudAccountKey.key != key,
        )
        .distinct()
        .order_by(CloudAccountKey.key)
    )
    return [
        NearMiss(
            reason="tag_or_dot_variant",
            detail=(
                f"cloud account {account_id} has {other}, which differs only by a +tag or "
                "dots; such addresses are different mailboxes and are never merged"
            ),
            cloud_account_id=account_id,
            address=other,
        )
        for account_id, other in rows
        if loose_form(other) == loose
    ]
