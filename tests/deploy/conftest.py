"""promtool for the alert rules, and the series the services really export.

promtool is Debian's (``python -m scripts.promtool`` puts it in .venv/bin; ``make test`` runs
that first). Without it the promtool tests skip and say so, except under CI=true, where they
fail.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from scripts.promtool import find_promtool
from tests.deploy.exported import Exported, scrape_both

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.fixture(scope="session")
def promtool() -> Path:
    found = find_promtool()
    if found is None:
        message = "promtool is missing: python -m scripts.promtool (run by make test) fetches it"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    # A synchronous fixture with its own event loop, so that one scrape serves every test.
    return asyncio.run(scrape_both(tmp_path_factory.mktemp("exported")))
