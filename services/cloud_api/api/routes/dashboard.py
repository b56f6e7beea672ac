"""The owner's dashboard: one page and its assets, every byte served from here (the machines
it runs on may be closed to the internet). The page signs in with the owner token, keeps it
in the tab and sends it as a header to the same JSON endpoints scripts use."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Response
from fastapi.responses import RedirectResponse

from services.cloud_api.domain.errors import NotFoundError

# What the browser may load and where it may send data: this origin only. No inline
# script or style, no form submissions (sign-in is handled by the script), no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Small files: revalidate every time, so an upgrade shows at once.
    "Cache-Control": "no-cache",
}
_MEDIA_TYPES = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "audit.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "icon.svg": "image/svg+xml",
}
_PACKAGE = resources.files("services.cloud_api.dashboard")

router = APIRouter(include_in_schema=False)


@router.get("/")
def redirect_to_dashboard() -> RedirectResponse:
    return RedirectResponse("/dashboard", status_code=307)


@router.get("/dashboard")
def get_dashboard() -> Response:
    page = (_PACKAGE / "index.html").read_bytes()
    return Response(page, media_type="text/html; charset=utf-8", headers=_HEADERS)


@router.get("/dashboard/assets/{name}")
def get_dashboard_asset(name: str) -> Response:
    media_type = _MEDIA_TYPES.get(name)
    if media_type is None:
        raise NotFoundError(f"no dashboard asset {name!r}")
    return Response((_PACKAGE / name).read_bytes(), media_type=media_type, headers=_HEADERS)
