"""Telling people: templates rendered into mail, written to the outbox, sent over SMTP."""
