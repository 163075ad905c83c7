"""Deadline collections: forms every unit must send by a date, recognised at ingest, reminded, reported.

Imports: notify, attribute, parse, ledger and the base modules. The pipeline calls it; it never
imports the pipeline, review or the service.
"""
