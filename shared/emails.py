"""E-mail validation and the one normalization both services compare addresses by.

GitHub documents no case rule for license-sync matching. Ours (SPEC section 2): strip
surrounding white space, Unicode NFC, lower-case the whole address with ``str.lower()``
(not ``casefold``), and write the domain in its IDNA (ASCII) form. ``+tags``, dots and
provider aliases are never folded: they name different mailboxes.

This runs once per user of every report, hundreds of thousands of times, so the common
all-ASCII case is a single regular-expression match and the IDNA codec is only consulted
for internationalized domains.
"""

from __future__ import annotations

import re
import unicodedata

import idna

MAX_EMAIL_LENGTH = 254
MAX_LOCAL_LENGTH = 64

# An unquoted local part: printable characters except white space, '@' and the specials
# that need quoting. Quoted local parts are legal but GHES never stores them.
_LOCAL = re.compile(r'[^\s@"(),:;<>\[\\\]\x00-\x1f\x7f]+')
_ASCII_DOMAIN = re.compile(
    r"(?=.{1,253}\Z)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*"
    r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z"
)


# The common case, fast: an all-ASCII address whose local part has no leading, trailing or
# doubled dot, with a domain seen before. Anything else takes the explaining path below.
_ATOM = r'[^\s@"(),:;<>\[\\\].\x00-\x1f\x7f]+'
_FAST_LOCAL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_known_domains: dict[str, bool] = {}
_KNOWN_DOMAINS_LIMIT = 50_000


class InvalidEmailError(ValueError):
    """The text is not an e-mail address this product accepts.

    The message says why but never repeats the address: addresses are personal data and
    error messages end up in logs and in the sync status.
    """


def normalize_email(raw: str) -> str:
    """Return the comparison key of ``raw`` or raise :class:`InvalidEmailError`."""
    return normalize_stripped(raw.strip())


def normalize_stripped(text: str) -> str:
    """:func:`normalize_email` of text without surrounding white space (a report's
    addresses are stripped once for storage; this runs once per user)."""
    if text.isascii() and _fast_valid(lowered := text.lower()):
        return lowered  # ASCII is its own NFC form and its own IDNA form
    text = unicodedata.normalize("NFC", text)
    if len(text) > MAX_EMAIL_LENGTH:
        raise InvalidEmailError(f"longer than {MAX_EMAIL_LENGTH} characters")
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise InvalidEmailError("not of the form local@domain")
    if len(local) > MAX_LOCAL_LENGTH:
        raise InvalidEmailError(f"local part longer than {MAX_LOCAL_LENGTH} characters")
    if (
        not _LOCAL.fullmatch(local)
        or local.startswith(".")
        or local.endswith(".")
        or (".." in local)
    ):
        raise InvalidEmailError("local part has characters or dots an address cannot have")
    return f"{local.lower()}@{_ascii_domain(domain)}"


def _fast_valid(lowered: str) -> bool:
    local, at, domain = lowered.rpartition("@")
    if not at or not 0 < len(local) <= MAX_LOCAL_LENGTH or len(lowered) > MAX_EMAIL_LENGTH:
        return False
    known = _known_domains.get(domain)
    if known is None:
        if len(_known_domains) >= _KNOWN_DOMAINS_LIMIT:
            _known_domains.clear()
        known = _known_domains[domain] = _ASCII_DOMAIN.match(domain) is not None
    return known and _FAST_LOCAL.fullmatch(local) is not None


def is_valid_email(raw: str) -> bool:
    try:
        normalize_email(raw)
    except InvalidEmailError:
        return False
    return True


def _ascii_domain(domain: str) -> str:
    lowered = domain.lower()
    if lowered.isascii():
        if _ASCII_DOMAIN.match(lowered):
            return lowered
        raise InvalidEmailError("domain is not a valid host name")
    try:
        # UTS 46 mapping turns full-width and other compatibility forms into the
        # characters a browser would resolve, then IDNA 2008 gives the ASCII form.
        encoded = idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError as error:
        raise InvalidEmailError("domain is not a valid internationalized host name") from error
    if not _ASCII_DOMAIN.match(encoded):
        raise InvalidEmailError("domain is not a valid host name")
    return encoded
