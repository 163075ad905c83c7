"""Telling people: templates rendered into mail, written to the outbox, sent over SMTP; and the
scheduled mail made from the books (progress, reminders, scorecards).

Imports: score, parse, ledger and the base modules (render, config, errors). Review products
(digests, reply answers) live in review, which imports notify, never the other way round.
"""
