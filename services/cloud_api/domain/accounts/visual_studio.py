"""Replacing an enterprise's Visual Studio subscribers in bulk (SPEC 7.4). How a
subscriber is matched to a person and counted is in ``licensing/rules.py``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from services.cloud_api.db.models import Enterprise, VisualStudioSubscriber
from services.cloud_api.domain.errors import InvalidInputError
from services.cloud_api.domain.tenants.enterprises import touch_accounts
from services.cloud_api.schemas import VisualStudioSubscriberInput
from shared import InvalidEmailError, normalize_email


def replace_subscribers(
    session: Session, enterprise: Enterprise, subscribers: Sequence[VisualStudioSubscriberInput]
) -> int:
    """Validate every row first, then swap them in: a refused import changes nothing."""
    rows = []
    seen: dict[str, int] = {}
    for position, subscriber in enumerate(subscribers):
        where = f"subscribers[{position}].upn"
        try:
            key = normalize_email(subscriber.upn)
        except InvalidEmailError as error:
            raise InvalidInputError(
                f"{where}: not a valid e-mail address: {error}", code="invalid_upn"
            ) from None
        first = seen.setdefault(key, position)
        if first != position:
            raise InvalidInputError(
                f"{where}: {subscriber.upn!r} is already subscribers[{first}] (one row per "
                "subscriber)",
                code="duplicate_upn",
            )
        rows.append(
            {
                "enterprise_id": enterprise.id,
                "upn_key": key,
                "upn": subscriber.upn.strip(),
                "subscription": subscriber.subscription,
            }
        )
    session.execute(
        delete(VisualStudioSubscriber).where(VisualStudioSubscriber.enterprise_id == enterprise.id)
    )
    if rows:
        session.execute(insert(VisualStudioSubscriber), rows)
    touch_accounts(enterprise)
    return len(rows)
