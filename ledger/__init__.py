"""The Fairdraw transparency ledger: RFC 9162 Merkle log, hash chain, C2SP checkpoints and tiles."""
