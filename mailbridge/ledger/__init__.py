"""The ledger: every message ever seen, its raw bytes archived, and what became of it."""
