"""`make contracts-docs` output is committed; it must match the contracts it describes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_event_docs_match_the_contracts(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "contracts_docs.py"), str(tmp_path)], check=True, capture_output=True
    )
    generated = {p.relative_to(tmp_path): p.read_text() for p in tmp_path.rglob("*.json")}
    committed = {p.relative_to(ROOT / "docs"): p.read_text() for p in (ROOT / "docs").rglob("*.json")}
    assert generated.keys() == committed.keys(), "run `make contracts-docs` and commit docs/"
    stale = sorted(str(name) for name in generated if generated[name] != committed[name])
    assert stale == [], f"stale docs (run `make contracts-docs`): {stale}"
    assert '"asyncapi": "3.0.0"' in generated[Path("asyncapi.json")]
