"""Outgoing mail built for Chinese clients: UTF-8 everywhere, RFC 2047 headers, text + HTML."""
from __future__ import annotations

from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr

from mailbridge.config import Config


def from_address(config: Config) -> str:
    return parseaddr(config.smtp.from_)[1]


def compose(config: Config, to: list[str], subject: str, text: str, html: str, *,
            auto: str = "auto-generated", in_reply_to: str | None = None,
            references: str | None = None, reply_to: str | None = None) -> EmailMessage:
    """A multipart/alternative mail; headers are encoded by the stdlib as UTF-8 encoded-words.

    `auto` is the RFC 3834 Auto-Submitted value: `auto-replied` for receipts and confirmations,
    `auto-generated` for digests and scorecards. Either way other robots must not answer it.
    """
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = config.smtp.from_
    msg["To"] = ", ".join(to)
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(config.ingest.zone))
    domain = from_address(config).rpartition("@")[2] or "localhost"
    msg["Message-ID"] = make_msgid("mailbridge", domain=domain)
    if in_reply_to:
        # Threads under the unit's own mail in 163/QQ webmail and every other client (RFC 5322 §3.6.4).
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = " ".join(filter(None, [references, in_reply_to]))
    msg["Auto-Submitted"] = auto
    msg["X-Auto-Response-Suppress"] = "All"  # Exchange/Outlook: no out-of-office answers to us
    msg.set_content(text, charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


def recipients(msg: EmailMessage) -> list[str]:
    return [addr for _, addr in getaddresses(msg.get_all("To", []) + msg.get_all("Cc", [])) if addr]
