"""``python -m scripts.oidc_provider``: the OpenID provider the sign-in tests run (panva's
``oidc-provider`` from npm, pinned with its package-lock) installed into
tests/oidc_provider/node_modules by ``npm ci`` (``make test`` runs it first).

Nothing happens when the installed tree already matches the lock. Without Node.js and npm
this says why and exits 0: the tests that need the provider then skip and say so, or fail
under CI=true.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

from scripts.servers import ROOT

PROVIDER_DIR = ROOT / "tests" / "oidc_provider"
LOCK = PROVIDER_DIR / "package-lock.json"
INSTALLED_LOCK = PROVIDER_DIR / "node_modules" / ".package-lock.json"
"""npm's record of what ``node_modules`` holds."""


def installed() -> bool:
    """The provider's packages are there, and installed from the current lock."""
    return INSTALLED_LOCK.is_file() and INSTALLED_LOCK.stat().st_mtime >= LOCK.stat().st_mtime


def install() -> str | None:
    """Installs the provider unless it is there; returns why it cannot be, or None."""
    if installed():
        return None
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return "Node.js and npm are not installed (apt-get install nodejs npm)"
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=PROVIDER_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return f"npm ci failed in {PROVIDER_DIR}:\n{done.stdout}{done.stderr}"
    return None


def main() -> int:
    problem = install()
    if problem is not None:
        print(f"oidc-provider: {problem}; the sign-in tests will skip", file=sys.stderr)
        return 0
    print(f"oidc-provider: {PROVIDER_DIR / 'node_modules' / 'oidc-provider'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
