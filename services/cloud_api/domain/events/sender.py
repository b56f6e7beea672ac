"""One HTTP attempt at a delivery, the way GitHub makes it: a JSON POST with GitHub's
headers, no redirects followed, and an answer expected within the timeout (10 s)."""

from __future__ import annotations

import asyncio
import time

import httpx

from services.cloud_api.domain.events.deliveries import Attempt, Claimed
from services.cloud_api.domain.events.signing import delivery_headers
from services.cloud_api.domain.events.urls import address_refusal
from services.common.clock import utcnow


def new_client(timeout: float) -> httpx.AsyncClient:
    # No proxy from the environment: the address check below must judge the address the
    # request really goes to. The whole attempt is also bounded by ``send``'s own timer.
    return httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False)


async def send(
    client: httpx.AsyncClient, claimed: Claimed, *, limit_seconds: float, allow_private: bool
) -> Attempt:
    """One attempt, bounded as a whole by ``limit_seconds`` (httpx's own timeout bounds
    each phase of the request; a receiver could otherwise drip its answer)."""
    attempted_at = utcnow()
    started = time.perf_counter()
    try:
        async with asyncio.timeout(limit_seconds):
            if not allow_private:
                refusal = await address_refusal(claimed.url)
                if refusal is not None:
                    return Attempt(attempted_at, 0.0, None, refusal, retryable=False)
            status = await _post(client, claimed)
    except (TimeoutError, httpx.TimeoutException):
        return Attempt(attempted_at, _since(started), None, f"timed out after {limit_seconds:g} s")
    except httpx.HTTPError as error:
        return Attempt(attempted_at, _since(started), None, _describe(error))
    return Attempt(attempted_at, _since(started), status)


async def _post(client: httpx.AsyncClient, claimed: Claimed) -> int:
    body = claimed.body.encode()
    headers = delivery_headers(
        secret=claimed.secret,
        body=body,
        event=claimed.event,
        guid=claimed.guid,
        hook_id=claimed.hook_id,
        enterprise_id=claimed.enterprise_id,
    )
    async with client.stream("POST", claimed.url, content=body, headers=headers) as response:
        # The answer's body is not kept; reading a little of it lets the connection close
        # cleanly without waiting for a receiver that streams a long one.
        async for _chunk in response.aiter_raw():
            break
        return response.status_code


def _describe(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.ConnectError):
        return f"failed to connect: {error}"[:500] if str(error) else "failed to connect"
    return f"{type(error).__name__}: {error}"[:500]


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 3)
