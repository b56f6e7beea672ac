"""A real OpenID Connect provider process for the sign-in tests (provider.mjs: panva's
oidc-provider, run by the machine's Node.js, installed by scripts/oidc_provider.py)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scripts.oidc_provider import PROVIDER_DIR, install

CLIENT_ID = "license-sync-dashboard"
CLIENT_SECRET = "test-client-secret-not-for-production"


@dataclass(frozen=True)
class Account:
    email: str | None = None
    email_verified: bool = True
    name: str | None = None
    groups: list[str] = field(default_factory=list)

    def claims(self) -> dict[str, Any]:
        claims: dict[str, Any] = {"groups": self.groups}
        if self.email is not None:
            claims |= {"email": self.email, "email_verified": self.email_verified}
        if self.name is not None:
            claims["name"] = self.name
        return claims


@dataclass(frozen=True)
class Provider:
    issuer: str
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET

    def cloud_env(self) -> dict[str, str]:
        """The ``CLOUD_API_OIDC_*`` settings of a cloud that uses this provider."""
        return {
            "CLOUD_API_OIDC_ISSUER": self.issuer,
            "CLOUD_API_OIDC_CLIENT_ID": self.client_id,
            "CLOUD_API_OIDC_CLIENT_SECRET": self.client_secret,
            "CLOUD_API_OIDC_SCOPES": "openid email profile groups",
        }


def require_provider() -> None:
    """Installs the provider's packages (npm ci) or skips, and fails under CI=true."""
    problem = install()
    if problem is None:
        return
    message = f"the OpenID provider cannot be run ({problem}): sign-in tests skipped"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def running_provider(
    redirect_uris: list[str], accounts: dict[str, Account], log: Path
) -> Iterator[Provider]:
    """The provider on a loopback port, answering on entry, stopped on exit."""
    require_provider()
    config = {
        "clients": [
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": redirect_uris,
            }
        ],
        "accounts": {login: account.claims() for login, account in accounts.items()},
    }
    with log.open("wb") as errors:
        process = subprocess.Popen(
            ["node", "provider.mjs", json.dumps(config)],
            cwd=PROVIDER_DIR,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline().decode()
            if not line.startswith("listening "):
                process.wait(timeout=10)
                raise AssertionError(f"the provider did not start:\n{log.read_text()}")
            yield Provider(line.split(" ", 1)[1].strip())
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
