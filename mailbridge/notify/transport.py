"""Where mail goes: an SMTP server (SSL/STARTTLS/plain, one connection per flush) or .eml files."""
from __future__ import annotations

import os
import re
import smtplib
import ssl
from email.utils import parseaddr
from pathlib import Path

from mailbridge.config import SmtpConfig
from mailbridge.errors import PermanentError, TransientError
from mailbridge.ledger.archive import private_dir


def _text(reply: bytes | str) -> str:
    """Server text: UTF-8, else GBK (QQ answers 535 in GBK: 请使用授权码登录)."""
    if isinstance(reply, str):
        return reply
    try:
        return reply.decode("utf-8")
    except UnicodeDecodeError:
        return reply.decode("gb18030", "replace")


class ServerUnavailable(TransientError):
    """No mail can be sent now (unreachable, login refused): stop the flush, spend no attempt."""


class LoginRefused(ServerUnavailable):
    """Nothing can be sent until the admin fixes the credentials."""


class SmtpTransport:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self.envelope_from = parseaddr(config.from_)[1]
        self._server: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        where = f"SMTP server {c.host}:{c.effective_port}"
        try:
            if c.security == "ssl":
                server: smtplib.SMTP = smtplib.SMTP_SSL(c.host, c.effective_port, timeout=c.timeout_seconds,
                                                         context=ssl.create_default_context())
            else:
                server = smtplib.SMTP(c.host, c.effective_port, timeout=c.timeout_seconds)
                if c.security == "starttls":
                    server.starttls(context=ssl.create_default_context())
        except (OSError, smtplib.SMTPException) as exc:
            raise ServerUnavailable(f"cannot reach the {where} ({exc}); check [smtp] host, port and security.") from None
        if c.username:
            password = c.password("smtp")
            if not password.isascii():  # smtplib would crash; a pasted note is not an authorization code
                server.close()
                raise LoginRefused(f"the SMTP password for {c.username} contains non-ASCII characters; "
                                   "set the authorization code (授权码: letters and digits).")
            try:
                server.login(c.username, password)
            except smtplib.SMTPAuthenticationError as exc:
                server.close()
                raise LoginRefused(f"the {where} refused the login ({exc.smtp_code} {_text(exc.smtp_error)}); "
                                   "set the authorization code (授权码) as the SMTP password.") from None
            except (OSError, smtplib.SMTPException) as exc:
                server.close()
                raise ServerUnavailable(f"login to the {where} failed ({exc}).") from None
        return server

    def check(self) -> str:
        """Connect and log in (for `doctor`); raises what sending would."""
        self._server = self._connect()
        try:
            self._server.noop()
        finally:
            self.close()
        login = "login ok" if self.config.username else "no login configured"
        return f"{self.config.host}:{self.config.effective_port} ({self.config.security}) {login}"

    def send(self, recipients: list[str], data: bytes, name: str = "") -> None:
        """Send one mail; TransientError (4xx, network) is retried later, PermanentError (5xx) is not."""
        if self._server is None:
            self._server = self._connect()
        options = self._utf8_options(recipients)
        try:
            refused = self._server.sendmail(self.envelope_from, recipients, data, mail_options=options)
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            _raise(min(code for code, _ in exc.recipients.values()),
                   "; ".join(f"{who}: {code} {_text(text)}" for who, (code, text) in exc.recipients.items()))
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, 421 closing…
            self.close()
            _raise(exc.smtp_code, _text(exc.smtp_error))
        except (OSError, smtplib.SMTPException) as exc:  # disconnected, timed out
            self.close()
            raise TransientError(f"connection to the SMTP server lost ({exc}).") from None
        except Exception:  # anything else leaves the session in an unknown state: start afresh
            self.close()
            raise
        if refused:  # some recipients took it: the mail is sent; the refusals are only logged
            raise PartialDelivery("; ".join(f"{who}: {code} {_text(text)}" for who, (code, text) in refused.items()))

    def _utf8_options(self, recipients: list[str]) -> list[str]:
        """["SMTPUTF8"] for a non-ASCII address (EAI, RFC 6531) when the server offers it; a server
        that does not can never take it, so the mail is undeliverable (smtplib would crash on it)."""
        if all(a.isascii() for a in [self.envelope_from, *recipients]):
            return []
        server = self._server
        assert server is not None  # send() connects first
        try:
            server.ehlo_or_helo_if_needed()
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise TransientError(f"connection to the SMTP server lost ({exc}).") from None
        if server.has_extn("smtputf8"):
            return ["SMTPUTF8"]
        wide = ", ".join(a for a in recipients if not a.isascii()) or self.envelope_from
        raise Undeliverable(f"address not deliverable: {wide} is not ASCII and the SMTP server "
                            "does not offer SMTPUTF8")

    def close(self) -> None:
        if self._server is not None:
            try:
                self._server.quit()
            except (OSError, smtplib.SMTPException):
                self._server.close()
            self._server = None


class Undeliverable(PermanentError):
    """This mail can never go through this server (e.g. an EAI address without SMTPUTF8)."""


class PartialDelivery(Exception):
    """Sent, but some recipients were refused."""


# NetEase's throttling markers (its SMTP error-code help page): too many connections, mails or
# recipients for now. 163 sends some of them with a 5xx code, yet they only mean "later".
_THROTTLED = re.compile(r"\b(HL:(ICC|IFC|IHU|MEP)|RP:(CEL|DRC|QRC|TRC)|MI:(CEL|SFQ|STC|SPB))\b")


def _raise(code: int, text: str) -> None:
    message = f"{code} {text}".strip()
    if 400 <= code < 500 or _THROTTLED.search(text):  # busy, greylisting, rate limits: try later
        raise TransientError(message)
    raise PermanentError(message)


class FileTransport:
    """Each mail as an .eml file in `dir` (demo, dry runs); written atomically."""

    def __init__(self, config: SmtpConfig) -> None:
        self.dir = Path(config.dir)

    def send(self, recipients: list[str], data: bytes, name: str = "mail") -> None:
        try:
            private_dir(self.dir)
            tmp = self.dir / f".{name}.tmp"
            tmp.unlink(missing_ok=True)  # a leftover keeps its mode through O_CREAT
            # 0600 whatever the umask: a receipt holds the sender's name, address and article titles.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, self.dir / f"{name}.eml")
        except OSError as exc:
            raise TransientError(f"cannot write mail to {self.dir} ({exc.strerror}).") from None

    def close(self) -> None:
        pass


def transport(config: SmtpConfig) -> SmtpTransport | FileTransport:
    return SmtpTransport(config) if config.transport == "smtp" else FileTransport(config)
