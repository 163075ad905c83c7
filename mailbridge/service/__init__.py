"""The service: the daemon's runner, its lock, health records and alerts, and `status`.

Imports flow down: service may use every pipeline stage (sources, ledger, notify, review, score);
no stage imports service.
"""
