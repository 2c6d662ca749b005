"""Write the ledger as a static C2SP tlog-tiles layout that any static host or mirror can serve.

The layout holds ``checkpoint`` (the newest signed checkpoint), and under ``tile/`` every hash tile
and entry bundle, full and partial, for EVERY signed checkpoint size — so a client holding any
checkpoint the log ever handed out finds the partial tiles it needs. Files are written atomically;
a file that exists is left as it is, since published tiles never change.
"""

from __future__ import annotations

import os
from pathlib import Path

from ledger import store, tiles
from ledger.log import Ledger, read_tile


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def export_tiles(ledger: Ledger, directory: Path) -> int:
    """Write the whole tile layout into ``directory``; return how many files were written.

    Cost: every entry and stored hash is read about once, plus the partial tiles of each checkpoint.
    """
    written = 0
    with store.reading(ledger.engine) as conn:
        sizes = store.checkpoint_sizes(conn)
        previous = 0
        for size in sizes:
            for tile in tiles.new_tiles(previous, size):
                path = directory / tiles.format_tile_path(tile)
                if not path.exists():
                    _write_atomic(path, read_tile(conn, tile))
                    written += 1
            previous = size
        newest = store.read_checkpoint(conn)
    if newest is not None:
        _write_atomic(directory / "checkpoint", newest[1])
        written += 1
    return written
