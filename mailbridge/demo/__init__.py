"""Bundled sample mail for `mailbridge demo`.

Imports: the service, the ledger and the base modules; only `commands` imports demo.
"""
