"""One error root; only `cli.main()` turns these into exit codes."""
from __future__ import annotations


class MailbridgeError(Exception):
    """Base of every error mailbridge raises on purpose."""

    exit_code = 4

    def __init__(self, message: str, **context: object) -> None:
        super().__init__(message)
        self.message = message
        self.context = context
        for key, value in context.items():
            setattr(self, key, value)

    def __str__(self) -> str:
        return self.message


class ConfigError(MailbridgeError):
    """The admin can fix it: a wrong key, a missing secret, a schema behind head."""

    exit_code = 2


class TransientError(MailbridgeError):
    """Retry later: network, login refused for now, locked database, SMTP 4xx."""

    exit_code = 3


class PermanentError(MailbridgeError):
    """This item will never work as it is: quarantine it and carry on."""

    exit_code = 3
