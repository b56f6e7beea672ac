"""The matching and consumption rules, one case per rule (SPEC sections 1 and 2).

Each case gives cloud accounts and GHES accounts through the public import and report
shapes, the expected figure, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from services.cloud_api.domain.accounts.consumption import consumes_license
from services.cloud_api.domain.accounts.importing import identity_keys
from services.cloud_api.domain.accounts.input import CLOUD_ACCOUNT
from services.cloud_api.domain.licensing.rules import (
    CloudIdentity,
    MatchRule,
    ServerAccount,
    license_figures,
    match_persons,
)
from shared import normalize_email
from tests.builders import account


def identity(body: dict[str, Any]) -> CloudIdentity:
    parsed = CLOUD_ACCOUNT.validate_python(body)
    return CloudIdentity(
        parsed["id"],
        parsed["login"],
        consumes_license(parsed),
        tuple(normalize_email(e["email"]) for e in parsed.get("emails", ()) if e["verified"]),
        tuple(identity_keys(parsed)),
    )


def server(instance: int, user_id: int, email: str | None) -> ServerAccount:
    return ServerAccount(instance, user_id, normalize_email(email) if email else None, email)


@dataclass
class Case:
    why: str
    expected: int
    cloud: list[dict[str, Any]] = field(default_factory=list)
    servers: list[tuple[int, int, str | None]] = field(default_factory=list)
    saml: bool = False


CASES = [
    Case("an org member consumes", 1, [account(1, "a", ["a@x.com"])]),
    Case("an org owner consumes", 1, [account(1, "a", role="owner")]),
    Case("a billing manager only does not", 0, [account(1, "a", role="billing_manager")]),
    Case(
        "an enterprise owner in no org does not",
        0,
        [account(1, "a", role=None, enterprise_owner=True)],
    ),
    Case(
        "an outside collaborator on a private repo consumes",
        1,
        [
            account(
                1,
                "a",
                role=None,
                outside_collaborator_repos=[{"repo": "o/r", "visibility": "private"}],
            )
        ],
    ),
    Case(
        "an outside collaborator on an internal repo consumes",
        1,
        [
            account(
                1,
                "a",
                role=None,
                outside_collaborator_repos=[{"repo": "o/r", "visibility": "internal"}],
            )
        ],
    ),
    Case(
        "an outside collaborator on public repos only does not",
        0,
        [
            account(
                1,
                "a",
                role=None,
                outside_collaborator_repos=[{"repo": "o/r", "visibility": "public"}],
            )
        ],
    ),
    Case(
        "a pending invitee consumes", 1, [account(1, "a", role=None, pending_invitations=["acme"])]
    ),
    Case("a suspended managed user does not", 0, [account(1, "a", suspended=True)]),
    Case("an unaffiliated user does not", 0, [account(1, "a", role=None)]),
    Case(
        "every GHES account consumes, dormant or not", 2, [], [(1, 1, "a@x.com"), (1, 2, "b@x.com")]
    ),
    Case("a GHES account without e-mail is its own person", 2, [], [(1, 1, None), (1, 2, None)]),
    Case(
        "rule 3: a verified cloud e-mail merges with the GHES primary",
        1,
        [account(1, "a", ["a@x.com"])],
        [(1, 1, "A@X.com")],
    ),
    Case(
        "rule 3: an unverified cloud e-mail never merges",
        2,
        [account(1, "a", [("a@x.com", False)])],
        [(1, 1, "a@x.com")],
    ),
    Case(
        "a +tag is another address",
        2,
        [account(1, "a", ["a@x.com"])],
        [(1, 1, "a+ci@x.com")],
    ),
    Case("dots are not folded", 2, [account(1, "a", ["a.b@x.com"])], [(1, 1, "ab@x.com")]),
    Case(
        "a GHES account matched to a non-consuming cloud account is one consuming person",
        1,
        [account(1, "a", ["a@x.com"], role="billing_manager")],
        [(1, 1, "a@x.com")],
    ),
    Case(
        "rule 4: equal primaries on two instances are one person",
        1,
        [],
        [(1, 1, "a@x.com"), (2, 77, "A@x.com")],
    ),
    Case(
        "two GHES e-mails verified on one cloud account are one person",
        1,
        [account(1, "a", ["a@x.com", "a@y.com"])],
        [(1, 1, "a@x.com"), (2, 2, "a@y.com")],
    ),
    Case(
        "rule 2: a SAML NameID matches when the enterprise uses SAML",
        1,
        [account(1, "a", saml_identity={"name_id": "a@corp.com"})],
        [(1, 1, "a@corp.com")],
        saml=True,
    ),
    Case(
        "rule 2: SAML identities are ignored without SAML",
        2,
        [account(1, "a", saml_identity={"name_id": "a@corp.com"})],
        [(1, 1, "a@corp.com")],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.why)
def test_matching_and_consumption_rule(case: Case) -> None:
    persons = match_persons(
        [identity(body) for body in case.cloud],
        [server(*row) for row in case.servers],
        saml_enabled=case.saml,
    )
    assert license_figures(persons).consumed == case.expected, case.why


def test_identity_attribute_wins_over_verified_email_and_is_flagged_ambiguous() -> None:
    cloud = [
        identity(account(5, "verified-owner", ["a@corp.com"])),
        identity(account(9, "saml-high", saml_identity={"emails": ["a@corp.com"]})),
        identity(account(7, "saml-low", saml_identity={"username": "A@corp.com"})),
    ]
    persons = match_persons(cloud, [server(1, 1, "a@corp.com")], saml_enabled=True)
    merged = next(p for p in persons if p.server_accounts)
    assert merged.cloud is not None
    assert merged.cloud.account_id == 7
    assert merged.match is not None
    assert merged.match.rule is MatchRule.SAML_IDENTITY
    assert merged.match.attribute == "scim_username"
    assert merged.match.ambiguous
    assert merged.match.candidates == (5, 7, 9)
    # Three consuming cloud accounts, one of which absorbed the GHES account.
    assert license_figures(persons).consumed == 3


def test_total_user_accounts_counts_cloud_and_server_accounts() -> None:
    persons = match_persons(
        [identity(account(1, "a", ["a@x.com"]))],
        [server(1, 1, "a@x.com"), server(2, 5, "a@x.com")],
        saml_enabled=False,
    )
    assert [p.total_user_accounts for p in persons] == [3]


def test_breakdown_and_persons_only_one_instance_brings() -> None:
    persons = match_persons(
        [
            identity(account(1, "both", ["both@x.com"])),
            identity(account(2, "cloud", ["cloud@x.com"])),
            identity(account(3, "billing", ["bill@x.com"], role="billing_manager")),
        ],
        [
            server(1, 1, "both@x.com"),
            server(1, 2, "only-one@x.com"),
            server(1, 3, "shared@x.com"),
            server(2, 3, "shared@x.com"),
            server(2, 4, "bill@x.com"),
        ],
        saml_enabled=False,
    )
    figures = license_figures(persons)
    assert (figures.consumed, figures.cloud_only, figures.server_only, figures.both) == (5, 1, 2, 2)
    # Instance 1 alone brings only-one@ (both@ also consumes on the cloud; shared@ is on 2
    # too); instance 2 alone brings bill@ (the cloud account is a billing manager).
    assert figures.unique_by_instance == {1: 1, 2: 1}
