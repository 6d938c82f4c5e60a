"""Write the gateway's OpenAPI document (the web UI's API client is generated from it).

python tools/openapi.py services/web/openapi.json    write it
python tools/openapi.py --check services/web/openapi.json    exit 1 when the file is not current
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dockback_gateway.app import create_app
from dockback_gateway.config import Settings


def document() -> str:
    app = create_app(Settings(database_url="postgresql+asyncpg://unused/unused"))  # nothing connects
    return json.dumps(app.openapi(), indent=2, sort_keys=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("path", type=Path)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    current = document()
    if args.check:
        if not args.path.exists() or args.path.read_text() != current:
            print(f"{args.path} is not the gateway's current OpenAPI document: run `make web-client`", file=sys.stderr)
            return 1
        return 0
    args.path.write_text(current)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
