"""Keep personal data and secrets out of logs.

Request bodies and headers are never logged; the one place a person's e-mail can reach a
log line by itself is a query string (``/enterprise/licenses/explain?email=…``) in
uvicorn's access log, which this filter rewrites.
"""

from __future__ import annotations

import logging
import re

SENSITIVE_QUERY = re.compile(r"(?i)([?&](?:email|token|access_token)=)[^&\s]*")


def redact(text: str) -> str:
    return SENSITIVE_QUERY.sub(r"\1[redacted]", text)


class RedactQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install_redaction() -> None:
    for name in ("uvicorn.access", "uvicorn.error", "httpx"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQueryStrings) for f in logger.filters):
            logger.addFilter(RedactQueryStrings())
