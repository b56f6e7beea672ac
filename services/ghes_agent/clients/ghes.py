"""Reading users and license facts from the GHES instance itself (SPEC section 5).

The site-admin report ``/stafftools/reports/all_users.csv`` is fetched with a site-admin
token; GHES answers 202 while it prepares the report, so the client waits and asks again,
within a bound. The CSV is streamed to a temporary file and parsed from there: a large
instance's report is never held in memory whole, let alone several times.

With an enterprise slug set, the GitHub Advanced Security active committers are read
first, from the enterprise billing endpoint (``advanced_security.py``), so that the users
report keeps only the committers' IDs as it goes by.
"""

from __future__ import annotations

import asyncio
import io
import logging
import ssl
import tempfile
import time
from datetime import datetime
from typing import IO, Any

import httpx

from services.common.threads import in_thread
from services.ghes_agent.clients.advanced_security import Advice, read_committers
from services.ghes_agent.clients.errors import GhesError
from services.ghes_agent.clients.tls import is_certificate_problem, reason, trust_store
from services.ghes_agent.domain.errors import SourceError
from services.ghes_agent.domain.facts import InstanceFacts, UsersSource
from services.ghes_agent.domain.users_csv import UsersSnapshot, read_users
from services.ghes_agent.settings import AgentSettings
from shared import LicenseInfo

log = logging.getLogger(__name__)
REPORT_PATH = "/stafftools/reports/all_users.csv"
LICENSE_PATH = "/api/v3/enterprise/settings/license"
META_PATH = "/api/v3/meta"


class GhesClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        verify: ssl.SSLContext | str | bool = True,
        timeout: float = 60.0,
        report_max_wait: float = 600.0,
        report_poll_interval: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.report_max_wait = report_max_wait
        self.report_poll_interval = report_poll_interval
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Authorization": f"token {token}", "Accept": "application/json"},
            verify=verify,
            timeout=timeout,
            transport=transport,
            # GHES sits beside the agent: HTTPS_PROXY and friends are for the way out to
            # the cloud, and the CA is GHES's own setting, not the environment's.
            trust_env=False,
        )

    async def __aenter__(self) -> GhesClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._client.aclose()

    async def collect(self, enterprise: str | None = None) -> InstanceFacts:
        """Everything a report needs, or GhesError: never a report from partial data.
        ``enterprise``: the slug to read Advanced Security committers for (None: not read)."""
        version = await self.installed_version()
        license_info = await self.license()
        committers = None
        if enterprise is not None:
            committers = await read_committers(self.get_page, self.base_url, enterprise)
        with tempfile.TemporaryFile("w+b") as spool:
            await self.download_users_report(spool)
            spool.seek(0)
            snapshot = await in_thread(_parse_spooled, spool, committers)
        return InstanceFacts(snapshot, version, license_info)

    async def installed_version(self) -> str:
        meta = await self._get_json(META_PATH)
        version = meta.get("installed_version")
        if not isinstance(version, str) or not version:
            raise GhesError(f"{META_PATH} did not say installed_version: is this a GHES instance?")
        return version

    async def license(self) -> LicenseInfo | None:
        body = await self._get_json(LICENSE_PATH)
        return license_info(body)

    async def download_users_report(self, sink: IO[bytes]) -> None:
        deadline = time.monotonic() + self.report_max_wait
        while True:
            async with self._stream(REPORT_PATH) as response:
                if response.status_code == 200:
                    async for chunk in response.aiter_bytes():
                        sink.write(chunk)
                    return
                if response.status_code != 202:
                    await response.aread()
                    raise _error_for(response, REPORT_PATH)
            if time.monotonic() + self.report_poll_interval > deadline:
                raise GhesError(
                    f"GHES was still preparing {REPORT_PATH} after {self.report_max_wait:.0f} "
                    "s; on a large instance raise GHES_AGENT_GHES_REPORT_MAX_WAIT_SECONDS"
                )
            await asyncio.sleep(self.report_poll_interval)

    async def _get_json(self, path: str) -> dict[str, Any]:
        body, _ = await self.get_page(path)
        return body

    async def get_page(
        self, url: str, advice: Advice | None = None
    ) -> tuple[dict[str, Any], str | None]:
        """A JSON object and the URL of the next page (the ``Link`` header's ``next``), if
        any. ``advice`` words a refusal the caller understands better than the default."""
        async with self._stream(url) as response:
            await response.aread()
            if response.status_code != 200:
                raise (advice and advice(response.status_code)) or _error_for(response, url)
            try:
                body = response.json()
            except ValueError:
                raise GhesError(f"{url} did not answer JSON: is this a GHES instance?") from None
            next_url = response.links.get("next", {}).get("url")
        if not isinstance(body, dict):
            raise GhesError(f"{url} answered something other than a JSON object")
        return body, next_url

    def _stream(self, path: str) -> Any:
        return _Guarded(self._client, self.base_url, path)


class _Guarded:
    """``client.stream`` with transport failures turned into advice."""

    def __init__(self, client: httpx.AsyncClient, base_url: str, path: str) -> None:
        self._context = client.stream("GET", path)
        self._where = path if path.startswith(("https://", "http://")) else f"{base_url}{path}"

    async def __aenter__(self) -> httpx.Response:
        try:
            return await self._context.__aenter__()
        except httpx.ConnectError as error:
            if is_certificate_problem(error):
                raise GhesError(
                    f"TLS verification of {self._where} failed ({reason(error)}); if the "
                    "instance uses an internal certificate authority, set "
                    "GHES_AGENT_GHES_CA_BUNDLE to its CA certificate file"
                ) from None
            raise GhesError(
                f"cannot reach GHES at {self._where} ({reason(error)}); check "
                "GHES_AGENT_GHES_URL and the network path"
            ) from None
        except httpx.TimeoutException:
            raise GhesError(f"GHES did not answer {self._where} in time") from None
        except httpx.TransportError as error:
            raise GhesError(f"cannot talk to GHES at {self._where} ({reason(error)})") from None

    async def __aexit__(self, *exc: Any) -> None:
        await self._context.__aexit__(*exc)


def _error_for(response: httpx.Response, path: str) -> GhesError:
    status = response.status_code
    if status == 401:
        return GhesError(
            "GHES refused the token (401): it is wrong, expired or revoked; create a new "
            "personal access token for a site administrator and set GHES_AGENT_GHES_TOKEN"
        )
    if status in (403, 404):
        return GhesError(
            f"GHES answered {status} for {path}: the token's user is not a site "
            "administrator, or the token lacks the site_admin scope"
        )
    if status == 503:
        return GhesError(
            "GHES is in maintenance mode (503); the sync will work again once maintenance "
            "mode is turned off"
        )
    return GhesError(f"GHES answered {status} for {path}")


def _parse_spooled(spool: IO[bytes], committers: frozenset[str] | None) -> UsersSnapshot:
    text = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="")
    try:
        return read_users(text, committers)
    finally:
        text.detach()


def license_info(body: dict[str, Any]) -> LicenseInfo | None:
    """``seats`` may be a number or the word ``unlimited``; ``expire_at`` is written like
    ``2016/02/06 12:41:52 -0600``."""
    seats = body.get("seats")
    if isinstance(seats, str) and seats.strip().lower() == "unlimited":
        parsed_seats = None
    elif isinstance(seats, int) and not isinstance(seats, bool) and seats >= 0:
        parsed_seats = seats
    elif isinstance(seats, str) and seats.strip().isdigit():
        parsed_seats = int(seats)
    else:
        raise GhesError(f"{LICENSE_PATH} gave seats {seats!r}, which is not understood")
    expires = None
    raw = body.get("expire_at")
    if raw:
        try:
            expires = datetime.strptime(str(raw), "%Y/%m/%d %H:%M:%S %z")
        except ValueError:
            log.warning("GHES license expire_at %r is not understood; reporting it unknown", raw)
    return LicenseInfo(seats=parsed_seats, expires_at=expires)


def ghes_source(
    settings: AgentSettings, transport: httpx.AsyncBaseTransport | None = None
) -> UsersSource:
    """Reads the instance at ``GHES_AGENT_GHES_URL`` with a new client each time."""
    url, token = settings.ghes_url or "", settings.ghes_token

    async def collect() -> InstanceFacts:
        if token is None:
            raise SourceError("GHES_AGENT_GHES_URL is set but GHES_AGENT_GHES_TOKEN is not")
        client = GhesClient(
            url,
            token.get_secret_value(),
            verify=tls_verification(settings),
            timeout=settings.http_timeout_seconds,
            report_max_wait=settings.ghes_report_max_wait_seconds,
            report_poll_interval=settings.ghes_report_poll_seconds,
            transport=transport,
        )
        async with client:
            return await client.collect(settings.ghes_enterprise)

    return collect


def tls_verification(settings: AgentSettings) -> ssl.SSLContext | bool:
    if not settings.ghes_verify_tls:
        log.warning(
            "TLS VERIFICATION OF %s IS OFF (GHES_AGENT_GHES_VERIFY_TLS=false): anyone on the "
            "network path can read the site-admin token and forge the users report",
            settings.ghes_url,
        )
        return False
    return trust_store(str(settings.ghes_ca_bundle) if settings.ghes_ca_bundle else None)
