"""Exceptions of the ledger. A leaf module: it imports nothing from the project.

Three kinds of failure, three forms:

- a caller error (a negative size, an index out of range when *building* a proof) raises
  ``ValueError`` with a message naming the field;
- malformed wire text or bytes (a checkpoint, a tile path, an entry bundle, a tlog-proof)
  raises ``FormatError``, which is also a ``ValueError``;
- every failed verification of a Merkle proof raises the one opaque ``ProofError``, whatever
  the mismatch was, so that callers cannot grow behaviour around the reason.
"""


class LedgerError(Exception):
    """Base class of every error the ledger raises on purpose."""


class ProofError(LedgerError):
    """An inclusion or consistency proof did not verify. Deliberately carries no detail."""

    def __init__(self) -> None:
        super().__init__("invalid transparency proof")


class FormatError(LedgerError, ValueError):
    """Text or bytes that do not follow their wire format exactly."""


class StorageError(LedgerError):
    """A hash store broke its contract (for example, returned the wrong number of hashes)."""
