"""The license report as CSV, one row per person, columns named like GitHub's report."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from services.cloud_api.github_schemas import ConsumedLicenseUser

COLUMNS = (
    "github_com_login",
    "github_com_name",
    "enterprise_server_user_ids",
    "github_com_user",
    "enterprise_server_user",
    "visual_studio_subscription_user",
    "license_type",
    "github_com_profile",
    "github_com_member_roles",
    "github_com_enterprise_roles",
    "github_com_verified_domain_emails",
    "github_com_saml_name_id",
    "github_com_orgs_with_pending_invites",
    "github_com_two_factor_auth",
    "enterprise_server_primary_emails",
    "visual_studio_license_status",
    "visual_studio_subscription_email",
    "total_user_accounts",
)
# A cell starting with one of these is run as a formula by spreadsheet programs (CSV
# injection); a leading apostrophe makes it plain text and is not displayed.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralize(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return neutralize(", ".join(str(item) for item in value))
    return neutralize(str(value))


def csv_lines(users: Iterable[ConsumedLicenseUser]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for user in users:
        row = user.model_dump()
        writer.writerow([cell(row[column]) for column in COLUMNS])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
