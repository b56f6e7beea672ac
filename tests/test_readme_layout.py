"""The README's "How the code is laid out" tree names what exists, and every package."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A line of the tree names something when its first word starts within this many columns;
# further right is the description of the line above, continued.
NAME_COLUMN_LIMIT = 8


def _tree() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## How the code is laid out", 1)[1]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block is not None, "the section has no tree"
    return block.group(1).splitlines()


def _named_paths() -> set[Path]:
    parents: list[tuple[int, Path]] = []
    named: set[Path] = set()
    for line in _tree():
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if not stripped or indent >= NAME_COLUMN_LIMIT:
            continue
        name = stripped.split()[0]
        while parents and parents[-1][0] >= indent:
            parents.pop()
        base = parents[-1][1] if parents else ROOT
        path = base / name.rstrip("/")
        named.add(path)
        if name.endswith("/"):
            parents.append((indent, path))
        if len(stripped.split("  ")) > 1 and name == "domain/":
            # "domain/  sources, facts": the agent's modules, named on the line itself
            modules = stripped.split("  ", 1)[1].split("  ")[0].strip()
            named.update(path / f"{m.strip()}.py" for m in modules.split(","))
    return named


def test_every_name_in_the_tree_exists() -> None:
    missing = sorted(str(p.relative_to(ROOT)) for p in _named_paths() if not p.exists())
    assert missing == []


def test_every_package_is_in_the_tree() -> None:
    named = _named_paths()
    packages = {
        init.parent
        for top in ("services", "shared")
        for init in (ROOT / top).rglob("__init__.py")
        if "migrations" not in init.parts
    }
    unlisted = sorted(
        str(p.relative_to(ROOT)) for p in packages if p not in named and p != ROOT / "services"
    )
    assert unlisted == []
