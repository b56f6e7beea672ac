"""The busiest read, ``GET /enterprise/licenses`` without a query, answered before routing.

Dashboards and scripts poll the summary; while nothing it shows has changed, its answer is
bytes in memory behind one indexed statement (domain/reporting/summary.py). At that point the
framework's route matching and dependency solving cost several times the answer itself, so
this middleware serves the cached bytes directly. Everything else (a cold cache, a stale
answer, any authentication problem, ``?include=users``) falls through to the route, which
gives it its full, documented answer.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from services.cloud_api.api.deps import CloudState
from services.cloud_api.domain.reporting.summary import cached_summary, cached_summary_async
from services.common.auth_header import bearer_token

PATH = "/enterprise/licenses"


class SummaryFastLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._route: object = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != PATH
            or scope["method"] != "GET"
            or scope["query_string"]
        ):
            await self.app(scope, receive, send)
            return
        state: CloudState = scope["app"].state.cloud
        token = _bearer(scope)
        if state.probe.sqlite:
            # A local file in WAL mode: the indexed read never waits for a writer and takes
            # microseconds, less than the hop to a worker thread.
            body = cached_summary(state.probe, state.summaries, token)
        else:
            body = await cached_summary_async(state.probe, state.summaries, token)
        if body is None:
            await self.app(scope, receive, send)
            # Remember the route the framework matched, to label our own answers with it.
            self._route = scope.get("route", self._route)
            return
        scope["route"] = self._route  # metrics count them under the route, like the rest
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return bearer_token(value.decode("latin-1"))
    return None
