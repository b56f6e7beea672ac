"""What a sync now would send, against the last report the cloud accepted (SPEC 7.2).

The users are read as a sync reads them; the comparison is with the newest report the
outbox has as ``delivered``. Nothing is sent and nothing is stored, so the preview works
while the cloud is unreachable, and asking it never consumes a sequence.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.ghes_agent.db.models import OutboxReport
from services.ghes_agent.domain.facts import InstanceFacts
from services.ghes_agent.domain.outbox import ReportState
from shared import InvalidEmailError, normalize_email

SAMPLES = 20


@dataclass(frozen=True, slots=True)
class Accepted:
    report_id: str
    sequence: int
    delivered_at: datetime | None
    users: dict[int, str | None]


@dataclass(frozen=True, slots=True)
class Preview:
    users: int
    suspended_excluded: int
    invalid_emails: int
    added: int
    removed: int
    email_changed: int
    samples: dict[str, list[tuple[int, str | None]]] = field(default_factory=dict)
    """``added``, ``removed``, ``email_changed``: up to 20 (user ID, login) each."""
    last_accepted: Accepted | None = None


def last_accepted(session: Session) -> Accepted | None:
    row = session.scalar(
        select(OutboxReport)
        .where(OutboxReport.state == ReportState.DELIVERED)
        .order_by(OutboxReport.sequence.desc())
        .limit(1)
    )
    if row is None:
        return None
    document = orjson.loads(gzip.decompress(row.body_gzip))
    users = {user["id"]: user["email"] for user in document["users"]}
    return Accepted(row.report_id, row.sequence, row.delivered_at, users)


def preview(facts: InstanceFacts, accepted: Accepted | None) -> Preview:
    snapshot = facts.snapshot
    now = dict(snapshot.users)
    before = accepted.users if accepted is not None else {}
    added = sorted(now.keys() - before.keys())
    removed = sorted(before.keys() - now.keys())
    changed = sorted(
        user for user in now.keys() & before.keys() if _key(now[user]) != _key(before[user])
    )
    logins = snapshot.logins

    def sample(users: list[int]) -> list[tuple[int, str | None]]:
        return [(user, logins.get(user)) for user in users[:SAMPLES]]

    return Preview(
        users=len(snapshot.users),
        suspended_excluded=snapshot.suspended,
        invalid_emails=snapshot.invalid_emails,
        added=len(added),
        removed=len(removed),
        email_changed=len(changed),
        samples={
            "added": sample(added),
            "removed": sample(removed),
            "email_changed": sample(changed),
        },
        last_accepted=accepted,
    )


def _key(email: str | None) -> str | None:
    """As the cloud compares addresses: a change of case alone changes nothing."""
    if email is None:
        return None
    try:
        return normalize_email(email)
    except InvalidEmailError:
        return email
