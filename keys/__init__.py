"""Ed25519 keys for Fairdraw: generation, encrypted key files, C2SP signed notes and key rotation."""
