"""Print the third-party dependencies of the chosen members (used by deploy/Dockerfile).

    python requirements.py gateway executor ...   # services; the libraries and tools/ops are always included

Members' own names (dockback-*) are left out: they are installed from the sources afterwards.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path


def main() -> None:
    always = [Path("libs/contracts"), Path("libs/runtime"), Path("tools/ops")]
    members = always + [Path("services") / name for name in sys.argv[1:]]
    seen: set[str] = set()
    for member in members:
        project = tomllib.loads((member / "pyproject.toml").read_text())["project"]
        for requirement in project.get("dependencies", []):
            if not requirement.startswith("dockback-") and requirement not in seen:
                seen.add(requirement)
                print(requirement)


if __name__ == "__main__":
    main()
