"""Reading GHES's site-admin report ``all_users.csv`` (SPEC section 5).

Columns: created_at, id, login, email, role, suspended?, last_logged_ip, repos, ssh_keys,
org_memberships, dormant?, last_active, raw_login, 2fa_enabled?. Only ``id``, ``email`` and
``suspended?`` are reported; ``login`` is kept for the agent's own preview of a sync (it
names the users it samples) and is required when Advanced Security committers are read
(GHES names committers by login; the report carries their IDs). The rest (IP, ...) is not
read. Nothing but IDs and e-mails leaves the agent. Dormant accounts consume a seat and are
reported; suspended ones are counted and left out, committers or not.
"""

from __future__ import annotations

import csv
import io
import logging
from array import array
from collections.abc import Callable, Iterable, Iterator, Set
from dataclasses import dataclass, field
from pathlib import Path

from services.ghes_agent.domain.errors import SourceError
from shared import is_valid_email

log = logging.getLogger(__name__)
REQUIRED_COLUMNS = ("id", "email", "suspended?")
TRUE_WORDS = frozenset({"true", "yes", "1", "t", "y"})
FALSE_WORDS = frozenset({"false", "no", "0", "f", "n", ""})


class UsersFileError(SourceError):
    """The users report cannot be trusted; nothing is sent from partial data."""


class UserList:
    """``(user ID, e-mail or None)`` pairs, compact: a million take some 30 MB rather than
    170 (a tuple, an int and a str object each). The IDs are in an array, the e-mails
    lines of a few large strings (an address the agent sends holds no line break)."""

    CHUNK = 10_000

    def __init__(self, pairs: Iterable[tuple[int, str | None]] = ()) -> None:
        self._ids = array("q")
        self._chunks: list[str] = []
        self._pending: list[str] = []
        for user_id, email in pairs:
            self.append(user_id, email)

    def append(self, user_id: int, email: str | None) -> None:
        self._ids.append(user_id)
        self._pending.append(email or "")
        if len(self._pending) >= self.CHUNK:
            self._chunks.append("\n".join(self._pending))
            self._pending = []

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[tuple[int, str | None]]:
        ids = iter(self._ids)
        chunks = [*self._chunks, "\n".join(self._pending)] if self._pending else self._chunks
        for chunk in chunks:  # n addresses joined always split back into n
            for email in chunk.split("\n"):
                yield next(ids), email or None

    def get(self, user_id: int) -> str | None:
        """The text kept with ``user_id`` (a scan of the IDs in C: for a few look-ups)."""
        if user_id not in self._ids:
            return None
        at = self._ids.index(user_id)
        chunk, offset = divmod(at, self.CHUNK)
        text = self._chunks[chunk] if chunk < len(self._chunks) else "\n".join(self._pending)
        return text.split("\n")[offset] or None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, UserList | list):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable


@dataclass(slots=True)
class UsersSnapshot:
    users: UserList = field(default_factory=UserList)
    suspended: int = 0
    invalid_emails: int = 0
    """Addresses the cloud would refuse, sent as ``null`` (the account still counts)."""
    logins: UserList = field(default_factory=UserList)
    """``(user ID, login)``, suspended users included, when the report has the column: for
    the agent's preview only, never sent (``get`` finds one; kept compact, as the users)."""
    advanced_security_user_ids: list[int] | None = None
    """IDs of the reported users who are Advanced Security active committers; ``None``
    when committers were not read (the report then says nothing about them)."""
    committers_not_reported: int = 0
    """Committer logins that matched no reported user (suspended, or unknown here)."""


Progress = Callable[[int, int], None]
"""Called now and then with (bytes read, bytes in the file) while a large file is read."""
PROGRESS_EVERY_ROWS = 20_000


def read_users_file(
    path: Path, progress: Progress | None = None, committers: Set[str] | None = None
) -> UsersSnapshot:
    try:
        with path.open("rb") as raw:
            total = path.stat().st_size
            handle = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            lines: Iterable[str] = (
                handle if progress is None else _reporting(handle, raw, total, progress)
            )
            return read_users(lines, committers)
    except OSError as error:
        raise UsersFileError(f"cannot read the users file {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise UsersFileError(f"the users file {path} is not UTF-8 text") from None


def _reporting(
    lines: Iterable[str], raw: io.BufferedReader, total: int, progress: Progress
) -> Iterable[str]:
    # The binary file's position runs at most one read buffer ahead of the rows parsed:
    # close enough for a bar, and free (no counting of characters per line).
    for number, line in enumerate(lines, 1):
        if number % PROGRESS_EVERY_ROWS == 0:
            progress(min(raw.tell(), total), total)
        yield line
    progress(total, total)


def read_users_text(text: str, committers: Set[str] | None = None) -> UsersSnapshot:
    """The users of a file already in memory: for the tests (the services read files)."""
    return read_users(io.StringIO(text, newline=""), committers)


def read_users(lines: Iterable[str], committers: Set[str] | None = None) -> UsersSnapshot:
    """``committers``: the casefolded logins of the Advanced Security active committers,
    or None when they were not read. Only their IDs are kept, never every login: the
    report may hold a million users."""
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise UsersFileError("the users report is empty: no header row")
    columns = {name.strip().lower(): index for index, name in enumerate(header)}
    required = REQUIRED_COLUMNS if committers is None else (*REQUIRED_COLUMNS, "login")
    missing = [name for name in required if name not in columns]
    if missing:
        raise UsersFileError(
            "the users report lacks the column(s) "
            f"{', '.join(missing)}; is it GHES's all_users.csv?"
        )
    id_at, email_at, suspended_at = (columns[name] for name in REQUIRED_COLUMNS)
    login_at = columns.get("login")
    # The login is optional for the preview, but a committer cannot be found without it.
    needed = (
        (id_at, email_at, suspended_at)
        if committers is None
        else (id_at, email_at, suspended_at, columns["login"])
    )
    width = max(needed) + 1
    snapshot = UsersSnapshot()
    seen = _SeenIds()
    found: list[int] = []
    for row in reader:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        line = reader.line_num
        if len(row) < width:
            raise UsersFileError(f"line {line}: has {len(row)} cells, expected {len(header)}")
        user_id = _user_id(row[id_at], line)
        if not seen.first_time(user_id):
            raise UsersFileError(f"line {line}: user id {user_id} appears twice")
        if login_at is not None and login_at < len(row):
            snapshot.logins.append(user_id, row[login_at])
        if _flag(row[suspended_at], line):
            snapshot.suspended += 1
            continue
        email: str | None = row[email_at].strip() or None
        if email is not None and not is_valid_email(email):
            snapshot.invalid_emails += 1
            email = None
        snapshot.users.append(user_id, email)
        if committers and login_at is not None and row[login_at].strip().casefold() in committers:
            found.append(user_id)
    if committers is not None:
        snapshot.advanced_security_user_ids = found
        snapshot.committers_not_reported = max(0, len(committers) - len(found))
        if snapshot.committers_not_reported:
            log.info(
                "%d Advanced Security committer(s) are not among the reported users "
                "(suspended, or not in all_users.csv): left out",
                snapshot.committers_not_reported,
            )
    return snapshot


class _SeenIds:
    """Whether a user ID came before. GHES lists users by ID, and an ascending ID is new
    without remembering the others (a set of a million IDs is some 60 MB); the IDs are
    kept in a set only from the first one out of order."""

    def __init__(self) -> None:
        self._last = 0
        self._ids = array("q")
        self._set: set[int] | None = None

    def first_time(self, user_id: int) -> bool:
        if self._set is None:
            if user_id > self._last:
                self._last = user_id
                self._ids.append(user_id)
                return True
            self._set = set(self._ids)
            self._ids = array("q")
        if user_id in self._set:
            return False
        self._set.add(user_id)
        return True


def _user_id(cell: str, line: int) -> int:
    text = cell.strip()
    if not text.isdigit() or int(text) <= 0:
        raise UsersFileError(f"line {line}: id is not a positive whole number")
    return int(text)


def _flag(cell: str, line: int) -> bool:
    word = cell.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise UsersFileError(f"line {line}: suspended? is neither true nor false")
