"""The demo's reviewer: answers the first digest from its own address, adopting two listed articles.

The adoptions are dated in the sample mail's month (the 16th), so that month's scorecard counts them.
"""
from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime

from sqlalchemy import select

from mailbridge.config import Config
from mailbridge.ledger.db import Database
from mailbridge.ledger.models import Outgoing

_TOKEN = re.compile(r"MB-[A-Z2-7]{32}")
_RECEIPT = re.compile(r"[A-Z0-9]{1,12}-\d{4}-\d{2}-\d{3,}")


def reviewer_reply(config: Config, db: Database) -> bytes | None:
    """The reply a reviewer would write to the first digest: 采用 two of its articles, on the website
    and on the WeChat account; None when no digest was sent (or it lists fewer than two)."""
    with db.session() as s:
        row = s.scalar(select(Outgoing).where(Outgoing.kind == "digest").order_by(Outgoing.id))
        if row is None:
            return None
        digest = message_from_bytes(row.data, policy=policy.default)
    body = digest.get_body(("plain",))
    if body is None:
        return None
    text = body.get_content()
    token = _TOKEN.search(text)
    listed = list(dict.fromkeys(_RECEIPT.findall(text)))
    if token is None or len(listed) < 2:
        return None
    reply = EmailMessage(policy=policy.SMTP)
    reply["From"] = digest["To"]
    reply["To"] = digest["From"]
    reply["Subject"] = f"Re: {digest['Subject']}"
    reply["Date"] = format_datetime(datetime.now(config.ingest.zone))
    reply["Message-ID"] = make_msgid("reviewer", domain="smxkx.example")
    reply["In-Reply-To"] = digest["Message-ID"]
    quoted = "\n".join(f"> {line}" for line in text.splitlines())
    on = f"{listed[0].split('-')[1]}-{listed[0].split('-')[2]}-16"  # SMX-2026-09-0001: in 2026-09
    reply.set_content(f"采用 {listed[0]} 官网 {on}\n采用 {listed[1]} 公众号 {on}\n\n{token.group()}\n\n"
                      f"-------- 原始邮件 --------\n{quoted}\n", charset="utf-8")
    return reply.as_bytes()
