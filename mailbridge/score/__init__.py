"""Scoring: rule profiles, the engine that applies them to a period, and the scorecard exports.

Imports: ledger and the base modules (render, sheets, config, errors). Review and notify use
score; score uses neither.
"""
