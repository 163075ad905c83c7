"""Deadline collections: forms every unit must send by a date, recognised at ingest, reminded, reported."""
