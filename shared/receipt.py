"""The cloud's receipt: its answer to a usage report, pushed by an agent or uploaded by hand.

``status`` is ``applied`` (answered 201) or ``duplicate`` (answered 200: the cloud already
had this report_id and answers as it did then). Fields the model does not know are ignored,
not refused: changes to the contract are additive, and an agent must still read the
receipt of a newer cloud.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class UsageReceipt(BaseModel):
    model_config = ConfigDict(frozen=True)

    report_id: str
    server_id: str
    sequence: int
    users_accepted: int
    status: Literal["applied", "duplicate"]
    total_seats_consumed: int | None
