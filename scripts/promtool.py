"""``python -m scripts.promtool``: Debian's promtool in the virtual environment, for the tests
of deploy/prometheus (``make test`` runs it first).

promtool comes from Debian's ``prometheus`` package, which is downloaded and unpacked rather
than installed: no root is needed, and no Prometheus server is set up and started as a system
service on the developer's machine. Nothing happens when a promtool is already there (in
the virtual environment or on PATH). Where it cannot be had (not Debian, no package lists
and not root to refresh them, no route to the mirror) this says why and exits 0: the tests
that need promtool then skip and say so, or fail under CI=true.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


def find_promtool() -> Path | None:
    """The virtual environment's promtool, else the one on PATH."""
    local = VENV_BIN / "promtool"
    if local.is_file() and os.access(local, os.X_OK):
        return local
    found = shutil.which("promtool")
    return Path(found) if found else None


def unpack_promtool(target: Path) -> Path:
    """Download Debian's prometheus package and copy its promtool to ``target``."""
    with tempfile.TemporaryDirectory() as work:
        _run(["apt-get", "download", "prometheus"], cwd=work)
        (package,) = Path(work).glob("prometheus_*.deb")
        _run(["dpkg-deb", "-x", str(package), str(Path(work) / "root")])
        target.mkdir(parents=True, exist_ok=True)
        installed = target / "promtool"
        shutil.copy2(Path(work) / "root" / "usr" / "bin" / "promtool", installed)
    return installed


def _run(command: list[str], cwd: str | None = None) -> None:
    # Output only on failure: apt-get warns on every download as root (no _apt sandbox).
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")


def main() -> int:
    if (found := find_promtool()) is not None:
        print(f"promtool: {found}")
        return 0
    if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
        print("promtool: not Debian (no apt-get); the alert-rule tests will skip", file=sys.stderr)
        return 0
    try:
        try:
            installed = unpack_promtool(VENV_BIN)
        except RuntimeError:
            if os.geteuid() != 0:
                raise
            _run(["apt-get", "update"])  # the package lists were missing or stale
            installed = unpack_promtool(VENV_BIN)
    except RuntimeError as error:
        print(
            f"promtool could not be fetched; the alert-rule tests will skip\n{error}",
            file=sys.stderr,
        )
        return 0
    print(f"promtool: {installed} (from Debian's prometheus package)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
