"""A real SMTP server for tests (aiosmtpd): plain, implicit SSL or STARTTLS, with AUTH and scripted failures."""
from __future__ import annotations

import email
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "smxskx@163.com", "QWERTYabc1234567"  # 163 authorization codes: 16 letters


def free_port() -> int:
    # aiosmtpd's Controller connects to its own port to finish starting: it needs a real one.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost; clients trust it through SSL_CERT_FILE."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    if not cert.exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                        "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


@dataclass
class Handler:
    """Stores every accepted mail; `replies` scripts the answers to the next DATA commands."""

    received: list[Received] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address.lower() in self.refuse_rcpt:
            return self.refuse_rcpt[address.lower()]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        with self.lock:
            if self.replies:
                return self.replies.pop(0)
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
            self.arrived.notify_all()
        return "250 OK: queued"


def _authenticate(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER \
        and auth_data.password.decode() == PASSWORD
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


class SmtpServer:
    """`security`: plain | ssl | starttls. With `auth`, the login USER/PASSWORD is required.
    `smtputf8`: whether EHLO offers SMTPUTF8 (RFC 6531), i.e. takes non-ASCII addresses."""

    def __init__(self, security: str = "plain", auth: bool = False, certs: tuple[Path, Path] | None = None,
                 smtputf8: bool = True) -> None:
        self.security = security
        self.handler = Handler()
        self.port = free_port()
        context = None
        if security != "plain":
            assert certs, "TLS needs a certificate"
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*map(str, certs))
        # aiosmtpd counts only STARTTLS as TLS for AUTH (and warns when AUTH is required without
        # it): over implicit SSL it offers AUTH without requiring it; a wrong login still gets 535.
        kwargs: dict = {"authenticator": _authenticate, "auth_required": auth and security == "starttls",
                        "auth_require_tls": security == "starttls", "enable_SMTPUTF8": smtputf8}
        if security == "ssl":
            kwargs["ssl_context"] = context
        elif security == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     server_hostname="localhost", **kwargs)
        self.controller.start()

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def wait_for(self, count: int, timeout: float, match=None) -> list[Received]:  # type: ignore[no-untyped-def]
        """Block until `count` mails (those `match` accepts, if given) have arrived; they are returned.

        Raises TimeoutError with what did arrive: a readiness signal, not a sleep.
        """
        def hits() -> list[Received]:
            return [r for r in self.handler.received if match is None or match(r)]

        with self.handler.arrived:
            if not self.handler.arrived.wait_for(lambda: len(hits()) >= count, timeout):
                subjects = [r.message["Subject"] for r in self.handler.received]
                raise TimeoutError(f"{count} mail(s) expected within {timeout}s; got {subjects}")
            return hits()

    def fail_next(self, *replies: str) -> None:
        """Answer the next DATA commands with these replies (e.g. '451 4.7.1 try later'), then accept."""
        with self.handler.lock:
            self.handler.replies.extend(replies)

    def stop(self) -> None:
        if self.controller._thread is not None:  # stopping twice is fine (a test may stop it early)
            self.controller.stop()
