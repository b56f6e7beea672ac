"""axe-core in the page under test: serious or critical accessibility violations fail it.

axe is vendored (``vendor/axe-core``, from the npm registry's package) and evaluated through
the browser's DevTools protocol: nothing is fetched from another host, and the pages' own
Content-Security-Policy, which allows only their own scripts, stays as it is.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
"""axe-core 4.14.1's axe.min.js as published: a changed file is noticed."""
BLOCKING = ("serious", "critical")


@cache
def axe_source() -> str:
    content = AXE.read_bytes()
    assert hashlib.sha256(content).hexdigest() == AXE_SHA256, f"{AXE} is not axe-core 4.14.1"
    return content.decode("utf-8")


def violations(page: Page) -> list[dict[str, Any]]:
    """The serious and critical violations on the page as it is now (dialogs included)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [v for v in found if v.get("impact") in BLOCKING]


def assert_accessible(page: Page, state: str) -> None:
    found = violations(page)
    assert not found, f"{state}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:3])
        for v in found
    )
