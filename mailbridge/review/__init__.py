"""Review and adoption: which group reviews a submission, the digest reviewers get, their
replies, and the one place decisions are recorded.

Imports: notify (to send), score (the profile's adoption channels), attribute, parse, ledger and
the base modules. Only the pipeline, the service and commands import review.
"""
