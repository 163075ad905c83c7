"""The service: the daemon's runner, its lock, health records and alerts, and `status`.

Imports flow down: service may use the pipeline and every stage (sources, ledger, notify, review,
score, collect); no stage imports service.
"""
