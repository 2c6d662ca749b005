"""Published test keys, read from tests/vectors/notes/sumdb-notes.json (Go's sumdb/note test key)."""

import json
from pathlib import Path

_VECTORS = Path(__file__).parent / "vectors" / "notes" / "sumdb-notes.json"
_NOTES = json.loads(_VECTORS.read_text(encoding="utf-8"))

PETER_SKEY: str = _NOTES["keys"]["PeterNeumann"]["skey"]
"""The PeterNeumann private key published with Go's sumdb/note tests; a test key, public by design."""
