"""GitHub Advanced Security active committers, from GHES's enterprise billing endpoint
``GET /api/v3/enterprises/{enterprise}/settings/billing/advanced-security`` (GHES 3.4+).

GitHub documents the answer per repository: each of ``repositories`` has an
``advanced_security_committers_breakdown`` of ``user_login``, ``last_pushed_date`` and
``last_pushed_email``; each distinct login
counts once however many repositories it pushed to. The repositories come in pages
(``per_page`` up to 100, ``page``), followed here by the ``Link`` header's ``next``.

The caller must be an enterprise owner or billing manager, with a classic token carrying
``manage_billing:enterprise`` (or ``admin:enterprise``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlsplit

from services.ghes_agent.clients.errors import GhesError

PER_PAGE = 100
Advice = Callable[[int], GhesError | None]
"""Words a refusal (by HTTP status) for the caller, or None for the default advice."""
PageFetch = Callable[[str, Advice | None], Awaitable[tuple[dict[str, Any], str | None]]]


def committers_path(enterprise: str) -> str:
    return (
        f"/api/v3/enterprises/{quote(enterprise, safe='')}/settings/billing/advanced-security"
        f"?per_page={PER_PAGE}&page=1"
    )


async def read_committers(fetch: PageFetch, base_url: str, enterprise: str) -> frozenset[str]:
    """Every committer's login, casefolded (GitHub logins are case-insensitive), over every
    page; GhesError if any page fails: never committers from part of the pages."""
    url: str | None = committers_path(enterprise)
    first = url
    seen: set[str] = set()
    logins: set[str] = set()
    advice = _advice(enterprise)
    while url is not None:
        if url in seen:
            raise GhesError(f"GHES's pages of {first} lead back to {url}: not read to the end")
        seen.add(url)
        body, next_url = await fetch(url, advice)
        logins.update(_logins(body, url))
        if next_url is not None and not _on_instance(next_url, base_url):
            raise GhesError(f"GHES's next page of {first} is on another host: {next_url}")
        url = next_url
    return frozenset(logins)


def _logins(body: dict[str, Any], url: str) -> list[str]:
    repositories = body.get("repositories")
    if not isinstance(repositories, list):
        raise GhesError(f"{url} did not list repositories: is this GHES 3.4 or later?")
    found = []
    for repository in repositories:
        breakdown = (
            repository.get("advanced_security_committers_breakdown")
            if isinstance(repository, dict)
            else None
        )
        if not isinstance(breakdown, list):
            raise GhesError(f"{url} answered a repository without its committers breakdown")
        for committer in breakdown:
            login = committer.get("user_login") if isinstance(committer, dict) else None
            if not isinstance(login, str) or not login.strip():
                raise GhesError(f"{url} answered a committer without user_login")
            found.append(login.strip().casefold())
    return found


def _on_instance(next_url: str, base_url: str) -> bool:
    """The next page must be on the instance: the token is sent with it."""
    target, base = urlsplit(next_url), urlsplit(base_url)
    if not target.scheme and not target.netloc:
        return True  # a relative link: resolved against the instance
    return (target.scheme, target.netloc) == (base.scheme, base.netloc)


def _advice(enterprise: str) -> Advice:
    def advise(status: int) -> GhesError | None:
        if status == 404:
            return GhesError(
                f"GHES answered 404 for the Advanced Security committers of enterprise "
                f"{enterprise!r}: check GHES_AGENT_GHES_ENTERPRISE (the slug in the instance's "
                "/enterprises/SLUG address) and that the instance runs GHES 3.4 or later"
            )
        if status == 403:
            return GhesError(
                "GHES answered 403 for the Advanced Security committers: the token's user "
                "must be an enterprise owner or billing manager, and the token needs the "
                "manage_billing:enterprise scope; or Advanced Security is not licensed on "
                "the instance (then unset GHES_AGENT_GHES_ENTERPRISE)"
            )
        return None

    return advise
