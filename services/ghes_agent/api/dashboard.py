"""The agent's page at ``/dashboard``: sign-in with the admin token, the license sync, Sync
now and Export license usage, the preview of the next sync, over the same JSON endpoints
scripts use."""

from __future__ import annotations

from services.common.pages import page_router

ASSETS = ("agent.js", "preview.js", "agent.css")

router = page_router("services.ghes_agent.dashboard", ASSETS)
