"""Parsing: raw bytes → decoded headers, bodies, attachments, and the articles they carry;
tables in files (`tables.py`) for rosters and sheets.

Imports: ledger (the archive), memory, errors. Nothing of attribution, review or the pipeline.
"""
