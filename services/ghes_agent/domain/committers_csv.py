"""Reading GHES's Advanced Security license report: the CSV an enterprise owner downloads
from *Enterprise settings → License → GitHub Advanced Security → CSV report*.

Columns (GitHub's "License reports reference"): ``User login``, ``Organization /
repository``, ``Last pushed date``, ``Last pushed email``; one row per committer and
repository, so a login appears once per repository it pushed to. Only ``User login`` is
used: the logins are matched to the users report (``users_csv.py``), which gives their
IDs, and never leave the agent.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

from services.ghes_agent.domain.errors import SourceError

LOGIN_COLUMN = "user login"


class CommittersFileError(SourceError):
    """The committers report cannot be trusted; nothing is sent from partial data."""


def read_committers_file(path: Path) -> frozenset[str]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return read_committers(handle)
    except OSError as error:
        raise CommittersFileError(
            f"cannot read the Advanced Security committers file {path}: {error.strerror}"
        ) from None
    except UnicodeDecodeError:
        raise CommittersFileError(
            f"the Advanced Security committers file {path} is not UTF-8 text"
        ) from None


def read_committers_text(text: str) -> frozenset[str]:
    """The committers of a file already in memory: for the tests (the services read files)."""
    return read_committers(io.StringIO(text, newline=""))


def read_committers(lines: Iterable[str]) -> frozenset[str]:
    """The distinct logins, casefolded (GitHub logins are case-insensitive)."""
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise CommittersFileError("the committers report is empty: no header row")
    columns = [name.strip().lower() for name in header]
    if LOGIN_COLUMN not in columns:
        raise CommittersFileError(
            "the committers report lacks the column User login; is it GHES's Advanced "
            "Security license report (CSV)?"
        )
    login_at = columns.index(LOGIN_COLUMN)
    logins: set[str] = set()
    for row in reader:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        login = row[login_at].strip() if len(row) > login_at else ""
        if not login:
            raise CommittersFileError(f"line {reader.line_num}: User login is empty")
        logins.add(login.casefold())
    return frozenset(logins)
