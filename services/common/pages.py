"""Serving a service's page at ``/dashboard``: its own assets and the common ones
(``services/common/web``), every byte from the service itself, under a strict policy.

The machines the services run on may be closed to the internet, and a page that holds a
token must not run or send anything the service did not serve: no inline script or style,
no form submissions (sign-in is handled by the script), no framing, no other host.
"""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable

from fastapi import APIRouter, Response
from fastapi.responses import RedirectResponse

from services.common.error_body import error_response

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Small files: revalidate every time, so an upgrade shows at once.
    "Cache-Control": "no-cache",
}
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
COMMON_ASSETS = ("common.js", "common.css", "icon.svg")


def page_router(package: str, assets: tuple[str, ...]) -> APIRouter:
    """``/`` and ``/dashboard`` serve the package's ``index.html``; ``/dashboard/assets/``
    serves the named assets of the package and the common ones, and nothing else."""
    files: dict[str, Traversable] = {name: resources.files(package) / name for name in assets}
    common = resources.files("services.common.web")
    files.update({name: common / name for name in COMMON_ASSETS})
    page = resources.files(package) / "index.html"
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    def redirect_to_dashboard() -> RedirectResponse:
        return RedirectResponse("/dashboard", status_code=307)

    @router.get("/dashboard")
    def get_dashboard() -> Response:
        return Response(page.read_bytes(), media_type="text/html; charset=utf-8", headers=HEADERS)

    @router.get("/dashboard/assets/{name}")
    def get_dashboard_asset(name: str) -> Response:
        source = files.get(name)
        if source is None:
            return error_response(404, "not_found", f"no dashboard asset {name!r}")
        media_type = MEDIA_TYPES[name[name.rindex(".") :]]
        return Response(source.read_bytes(), media_type=media_type, headers=HEADERS)

    return router
