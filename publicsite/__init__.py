"""The public, read-only Fairdraw site: draws, plans, results, company look-up, in-browser verification."""
