"""Attribution: the roster of units and officers, and which unit a submission belongs to.

Imports: parse, ledger, config, errors. Not review, score, notify or anything above them.
"""
