"""The ledger: every message ever seen, its raw bytes archived, and what became of it.

Imports: only the base modules (config, errors, sheets). Every stage above may use the ledger.
"""
