"""The owner's dashboard: one page and its assets, every byte served from here. The page
signs in through the identity provider (a session cookie) or with an owner token kept in
the tab, and calls the same JSON endpoints scripts use. Each view is its own script
module."""

from __future__ import annotations

from services.common.pages import page_router

ASSETS = (
    "dashboard.js",
    "session.js",
    "instances.js",
    "upload.js",
    "audit.js",
    "links.js",
    "subscribers.js",
    "dashboard.css",
)

router = page_router("services.cloud_api.dashboard", ASSETS)
