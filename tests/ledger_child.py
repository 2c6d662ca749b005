"""A child process for crash and multi-process tests: appends entries and prints every acknowledgement.

Usage: python -m tests.ledger_child URL COUNT THREADS TAG
Prints ``READY`` once the ledger is open, then ``ACK <index> <leaf hex> <tag>`` for each
acknowledged entry and ``CP <base64 note>`` for each new signed checkpoint it was handed,
flushing after each line. COUNT 0 means: until killed.
"""

from __future__ import annotations

import base64
import sys
import threading

from tests.ledger_helpers import open_ledger


def main(url: str, count: int, threads: int, tag: str) -> None:
    log = open_ledger(url, init=False)
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    out = threading.Lock()
    seen: set[bytes] = set()

    def worker(w: int) -> None:
        i = 0
        while count == 0 or i < count:
            r = log.append("test.item", {"n": i})
            with out:
                if r.checkpoint not in seen:
                    seen.add(r.checkpoint)
                    sys.stdout.write("CP " + base64.b64encode(r.checkpoint).decode() + "\n")
                sys.stdout.write(f"ACK {r.index} {r.leaf_hash.hex()} {tag}{w}\n")
                sys.stdout.flush()
            i += 1

    pool = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    log.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
