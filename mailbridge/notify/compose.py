"""Outgoing mail built for Chinese clients: UTF-8 everywhere, RFC 2047 headers, text + HTML."""
from __future__ import annotations

import unicodedata
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr

from mailbridge.config import Config

# Never inside an address we write: header syntax (RFC 5322 specials), quotes and white space.
# A parsed sender that holds any of them is not one plain mailbox, whatever the parser made of it.
_SPECIALS = set('()<>[]:;,\\"\'@ ')


def from_address(config: Config) -> str:
    return parseaddr(config.smtp.from_)[1]


def one_address(address: str) -> str:
    """The one addr-spec an automatic mail may go to, as written in To and the envelope; ValueError
    for anything else (a list, a display name, control characters, a malformed domain).

    An internationalised domain becomes its IDNA A-label so any server takes it (RFC 5891); a
    non-ASCII local part stays as it is and needs SMTPUTF8 (RFC 6531) at send time.
    """
    local, at, domain = address.strip(" \t").rpartition("@")
    problem = None
    if not at or not local or not domain:
        problem = "no local part and domain"
    elif any(c in _SPECIALS or unicodedata.category(c)[0] in "CZ" for c in local + domain):
        problem = "holds header syntax, white space or control characters"
    elif "=?" in local + domain:  # RFC 2047 §5: no encoded-word in an addr-spec (the stdlib decodes it)
        problem = "holds an encoded-word"
    elif len(local) > 64 or ".." in local or local.startswith(".") or local.endswith("."):
        problem = "has a malformed local part"
    if problem is None:
        try:
            domain = domain.rstrip(".").encode("idna").decode("ascii").lower()
        except UnicodeError:
            problem = "has a malformed domain"
    if problem is None and (len(domain) > 253 or "." not in domain
                            or not all(label and len(label) <= 63 for label in domain.split("."))):
        problem = "has a malformed domain"
    spec = f"{local}@{domain}"
    if problem is None and spec.isascii():  # the stdlib parser rejects EAI local parts outright
        try:
            if Address(addr_spec=spec).addr_spec != spec:
                problem = "does not read back as one address"
        except (ValueError, IndexError):
            problem = "is not an addr-spec"
    if problem:
        raise ValueError(f"{address!r} is not one deliverable address: it {problem}")
    return spec


def compose(config: Config, to: list[str], subject: str, text: str, html: str, *,
            auto: str = "auto-generated", in_reply_to: str | None = None,
            references: str | None = None, reply_to: str | None = None) -> EmailMessage:
    """A multipart/alternative mail; headers are encoded by the stdlib as UTF-8 encoded-words.

    `auto` is the RFC 3834 Auto-Submitted value: `auto-replied` for receipts and confirmations,
    `auto-generated` for digests and scorecards. Either way other robots must not answer it.
    """
    to = [one_address(a) for a in to]
    # An EAI address is written as UTF-8 (RFC 6532): an encoded-word in an addr-spec is garbage.
    msg = EmailMessage(policy=policy.SMTP if all(a.isascii() for a in to) else policy.SMTPUTF8)
    msg["From"] = config.smtp.from_
    msg["To"] = ", ".join(to)
    if [a.addr_spec for a in msg["To"].addresses] != to:  # what goes on the wire is what was checked
        raise ValueError(f"the To header does not read back as {to}")
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
