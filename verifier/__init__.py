"""The independent Fairdraw verifier, written from docs/ and the public specs; imports no other package."""
