"""The license report as CSV, one row per person, columns named like GitHub's report."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from typing import Any

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
    "github_com_advanced_security_license_user",
    "enterprise_server_primary_emails",
    "enterprise_server_advanced_security_user_ids",
    "visual_studio_license_status",
    "visual_studio_subscription_email",
    "total_user_accounts",
)
# A cell starting with one of these is run as a formula by spreadsheet programs (CSV
# injection); a leading apostrophe makes it plain text and is not displayed.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


_FORMULA_FIRST = frozenset(FORMULA_STARTS)


def neutralize(text: str) -> str:
    return "'" + text if text[:1] in _FORMULA_FIRST else text


def _list_cell(value: list[object]) -> str:
    return neutralize(", ".join(map(str, value)))


_CELLS: dict[type, Callable[[Any], str]] = {
    type(None): lambda _: "",
    bool: lambda value: "true" if value else "false",
    list: _list_cell,
    str: neutralize,
}


def _other_cell(value: object) -> str:
    return neutralize(str(value))


def cell(value: object) -> str:
    """A field's value as CSV cell text (one dictionary lookup by type: a download makes
    millions)."""
    return _CELLS.get(type(value), _other_cell)(value)


def csv_header() -> str:
    return csv_rows([], header=True)


def row_cells(row: Mapping[str, Any]) -> list[str]:
    """A ``ConsumedLicenseUser``'s fields as the cells of its CSV row."""
    cells = _CELLS.get  # cell(), inlined: a download makes millions
    return [cells(type(value), _other_cell)(value) for value in map(row.__getitem__, COLUMNS)]


def csv_rows(rows: Iterable[Mapping[str, Any]], *, header: bool = False) -> str:
    """``rows`` (each a ``ConsumedLicenseUser``'s fields) as CSV text."""
    return csv_text(map(row_cells, rows), header=header)


def csv_text(rows: Iterable[list[str]], *, header: bool = False) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        writer.writerow(COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue()


def quoted(text: str) -> str:
    """``text`` as one CSV field, quoted as ``csv.writer`` would (QUOTE_MINIMAL)."""
    if "," in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def text_cell(text: str) -> str:
    """``text`` as the CSV field of a cell: neutralized, then quoted when it must be (one
    call for what ``cell`` and ``quoted`` do, for the million rows of a download)."""
    if text[:1] in _FORMULA_FIRST:
        text = "'" + text
    if "," in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


class RowTemplate:
    """A CSV row whose cells are fixed but for a few: the fixed text is made once, and
    each row only fills in the few (a download writes a million)."""

    def __init__(self, cells: list[str], variable: tuple[int, ...]) -> None:
        texts = [
            "{}" if at in variable else quoted(c).replace("{", "{{").replace("}", "}}")
            for at, c in enumerate(cells)
        ]
        self._format = (",".join(texts) + "\r\n").format
        self.fields = self._format
        """The row from its variable cells' fields, already made by :func:`text_cell`."""

    def line(self, *values: str) -> str:
        """The row with ``values`` (cell texts, neutralized), in the variable cells' order."""
        return self._format(*map(quoted, values))
