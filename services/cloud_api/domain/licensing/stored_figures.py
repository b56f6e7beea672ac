"""An enterprise's figure kept in the database with the data version it counts, so that
a new replica (or one whose cache let the enterprise go) answers the figure with one row
instead of recounting every report: a million persons took 1.1-1.5 s to count again.

Every change that can move the figure already computes the figure after it, under the
enterprise's row lock and in its own transaction (``ingest/figure_changes.py``); it writes
it here in that transaction, so the row and the version it names commit together. A
reader trusts the row only for the data version it reads from the enterprise, as it
trusts its own cache, and only when the row was counted by these rules (``RULES``): a
release that counts differently recounts on first read rather than serve an old count.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

import orjson
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.cloud_api.db.models import StoredFigure
from services.cloud_api.domain.licensing.committers import CommitterFigures
from services.cloud_api.domain.licensing.rules import LicenseFigures

RULES = 1
"""Raise it with any change to what a stored state counts to (``rules.py``,
``figures.py``, ``committers.py``): figures stored under another number are counted
again when next read."""


@dataclass(frozen=True, slots=True)
class Counts:
    """What the figure's readers show: the licenses, the committers and when."""

    data_version: int
    figures: LicenseFigures
    advanced_security: CommitterFigures
    computed_at: datetime


def save_counts(session: Session, enterprise_id: int, counts: Counts) -> None:
    """In the caller's transaction; an older version never replaces a newer one."""
    figures = counts.figures
    text = orjson.dumps(
        {
            "consumed": figures.consumed,
            "cloud_only": figures.cloud_only,
            "server_only": figures.server_only,
            "both": figures.both,
            "unique_by_instance": sorted(figures.unique_by_instance.items()),
            "advanced_security": asdict(counts.advanced_security),
        }
    ).decode()
    values = {
        "enterprise_id": enterprise_id,
        "data_version": counts.data_version,
        "rules": RULES,
        "figure": text,
        "computed_at": counts.computed_at,
    }
    if session.get_bind().dialect.name == "postgresql":
        statement: postgresql.Insert | sqlite.Insert = postgresql.insert(StoredFigure)
    else:
        statement = sqlite.insert(StoredFigure)
    statement = statement.values(values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[StoredFigure.enterprise_id],
            set_={name: statement.excluded[name] for name in values if name != "enterprise_id"},
            where=StoredFigure.data_version <= statement.excluded.data_version,
        )
    )


def load_counts(session: Session, enterprise_id: int, data_version: int) -> Counts | None:
    """The stored counts of exactly this data version, counted by these rules, or None."""
    row = session.execute(
        select(StoredFigure.figure, StoredFigure.computed_at).where(
            StoredFigure.enterprise_id == enterprise_id,
            StoredFigure.data_version == data_version,
            StoredFigure.rules == RULES,
        )
    ).first()
    if row is None:
        return None
    stored = orjson.loads(row.figure)
    figures = LicenseFigures(
        consumed=stored["consumed"],
        cloud_only=stored["cloud_only"],
        server_only=stored["server_only"],
        both=stored["both"],
        unique_by_instance={int(pk): n for pk, n in stored["unique_by_instance"]},
    )
    return Counts(
        data_version, figures, CommitterFigures(**stored["advanced_security"]), row.computed_at
    )
