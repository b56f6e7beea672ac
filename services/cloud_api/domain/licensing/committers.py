"""GitHub Advanced Security active committers: who they are, and how many unique persons.

A committer is counted once per person, persons matched exactly as for licenses: a GHES
account its instance's current report names (schema version 2), or a cloud account the
accounts import flags, while that account's person consumes a license (by itself, or
through a GHES account of the same person). Counted beside the license figure, from the
person keys the figure already has: committers are few next to the users, so a union
from scratch costs little however the figure was counted.

Kept apart from the license engine's own rules so that it changes nothing of how
licenses are counted; :func:`reference_committer_figures` is the person-by-person
reference the property tests compare :func:`count_committers` against.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from services.cloud_api.domain.licensing.index import (
    AccountsIndex,
    LinkedAccount,
    cloud_key,
    person_keys,
)
from services.cloud_api.domain.licensing.loaders import (
    CurrentReport,
    InstanceKeys,
    Reader,
    raw_rows,
)
from services.cloud_api.domain.licensing.rules import Person


@dataclass(frozen=True, slots=True)
class CommitterFigures:
    """Unique Advanced Security committers, by where they commit: on the cloud only, on
    GHES only, or on both (the licenses the sync saves)."""

    total_committers: int = 0
    cloud_only: int = 0
    server_only: int = 0
    both: int = 0


@dataclass(frozen=True, slots=True)
class Committers:
    """The committer accounts of the current reports and of the cloud."""

    server: Mapping[int, InstanceKeys]
    """Instance -> its committers' e-mail keys and the IDs of those without e-mail."""
    server_ids: frozenset[tuple[int, int]]
    """``(instance, user_id)`` of every GHES committer account."""
    cloud: frozenset[int]
    """Cloud account IDs imported as committers (whether or not they consume)."""

    def server_committer(self, instance: int, user_id: int) -> bool:
        return (instance, user_id) in self.server_ids


# The committers of some reports, with their e-mail keys (MARKS: a ``?`` per report).
# CROSS JOIN: SQLite then walks the few committers and looks each user up by its key;
# left to choose, it walked every user of the reports (a million rows) on each listing.
# PostgreSQL plans it either way alike.
_OF_REPORTS = (
    "SELECT c.report_pk, c.user_id, u.email_key FROM server_advanced_security_users c "
    "CROSS JOIN server_users u "
    "WHERE c.report_pk IN (MARKS) AND u.report_pk = c.report_pk AND u.user_id = c.user_id"
)
NONE = Committers({}, frozenset(), frozenset())
NO_COMMITTERS = CommitterFigures()


def load_committers(
    session: Reader,
    enterprise_id: int,
    reports: Sequence[CurrentReport],
    cloud: frozenset[int] | None = None,
) -> Committers:
    """Read in the caller's transaction, so a report being applied counts with its own.
    ``cloud``: the cloud committers when the caller has them at hand."""
    by_pk = {report.report_pk: report for report in reports}
    server: dict[int, InstanceKeys] = {}
    ids: set[tuple[int, int]] = set()
    if by_pk:
        marks = ", ".join("?" * len(by_pk))
        rows = raw_rows(session, _OF_REPORTS.replace("MARKS", marks), *by_pk)
        for report_pk, user_id, email_key in rows:
            report = by_pk[report_pk]
            keys = server.setdefault(report.instance_pk, InstanceKeys(report.report_id, [], []))
            if email_key is None:
                keys.no_email_ids.append(user_id)
            else:
                keys.email_keys.append(email_key)
            ids.add((report.instance_pk, user_id))
    if cloud is None:
        cloud = load_cloud_committers(session, enterprise_id)
    return Committers(server, frozenset(ids), cloud)


def load_cloud_committers(session: Reader, enterprise_id: int) -> frozenset[int]:
    """The cloud accounts imported as committers, consuming or not."""
    rows = raw_rows(
        session,
        "SELECT account_id FROM cloud_accounts WHERE enterprise_id = ? "
        "AND advanced_security_committer = ?",
        enterprise_id,
        True,
    )
    return frozenset(account_id for (account_id,) in rows)


def count_committers(
    committers: Committers,
    keys_by_instance: Mapping[int, AbstractSet[str]],
    index: AccountsIndex,
    linked: Mapping[int, Sequence[LinkedAccount]] | None = None,
) -> CommitterFigures:
    """Unique committers, from the person keys of every instance (as the figure counts
    them) and the committers' own person keys, resolved by the same index and the same
    identity links (``linked``: each instance's accounts a link names)."""
    server: set[str] = set()
    for instance, keys in committers.server.items():
        mine = [
            link
            for link in (linked or {}).get(instance, ())
            if committers.server_committer(instance, link[0])
        ]
        server |= person_keys(instance, keys, index, mine)
    committing = {cloud_key(account_id) for account_id in committers.cloud}
    consuming = committing & index.consuming
    # A cloud committer that consumes nothing by itself still does through a GHES account.
    others = committing - consuming
    matched: set[str] = set()
    if others:
        for persons in keys_by_instance.values():
            matched |= others & persons
    cloud = consuming | matched
    both = len(server & cloud)
    return CommitterFigures(
        total_committers=len(server | cloud),
        cloud_only=len(cloud) - both,
        server_only=len(server) - both,
        both=both,
    )


def person_commits(person: Person, committers: Committers) -> tuple[bool, bool]:
    """Whether a consuming person commits on the cloud, and on GHES."""
    if not person.consuming:
        return False, False
    cloud = person.cloud is not None and person.cloud.account_id in committers.cloud
    server = any(committers.server_committer(a.instance, a.user_id) for a in person.server_accounts)
    return cloud, server


def reference_committer_figures(
    persons: Iterable[Person], committers: Committers
) -> CommitterFigures:
    """The count person by person, matched by ``match_persons``: the reference."""
    counts: Counter[tuple[bool, bool]] = Counter(
        person_commits(person, committers) for person in persons
    )
    cloud_only, server_only, both = counts[True, False], counts[False, True], counts[True, True]
    return CommitterFigures(cloud_only + server_only + both, cloud_only, server_only, both)
