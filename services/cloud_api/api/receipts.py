"""The receipt the cloud answers a usage report with, pushed or uploaded alike."""

from __future__ import annotations

from services.cloud_api.domain.ingest.usage_reports import Receipt
from shared import UsageReceipt


def receipt_view(receipt: Receipt) -> UsageReceipt:
    return UsageReceipt(
        report_id=receipt.report_id,
        server_id=receipt.server_id,
        sequence=receipt.sequence,
        users_accepted=receipt.users_accepted,
        status=receipt.status,
        total_seats_consumed=receipt.total_seats_consumed,
    )
