"""Review tokens: one per recipient of each digest, 160 random bits, kept only as a SHA-256.

A token is `MB-` and 32 base32 letters (A–Z, 2–7): no `-`/`_` a client could break a line at,
and read case-insensitively, since phones capitalise and some clients change case when quoting.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbridge.ledger.models import Digest, ReviewToken, utcnow

_SHAPE = re.compile(r"(?<![A-Za-z0-9])MB-([A-Z2-7]{32})(?![A-Za-z0-9])", re.I)


def new_token() -> str:
    return "MB-" + base64.b32encode(secrets.token_bytes(20)).decode("ascii")  # 160 bits, 32 letters, no padding


def token_hash(token: str) -> str:
    return hashlib.sha256(token.upper().encode("ascii")).hexdigest()


def issue(s: Session, digest: Digest, address: str, days: int, now: datetime | None = None) -> str:
    """A new token for one recipient of a digest; only its hash is written. Returns the token."""
    token = new_token()
    s.add(ReviewToken(token_hash=token_hash(token), digest=digest, address=address.strip().lower(),
                      expires_at=(now or utcnow()) + timedelta(days=days)))
    return token


def mentions_token(text: str) -> bool:
    """Anything token-shaped: the mail is meant as a reply to a digest."""
    return _SHAPE.search(text) is not None


def distinct_tokens(text: str, stop_after: int = 2) -> list[str]:
    """The distinct tokens in a text, upper-cased; the scan stops at `stop_after` (a reply may hold
    one: more are refused unread, so 20,000 guesses cost one regex pass and no query)."""
    found: list[str] = []
    for match in _SHAPE.finditer(text):
        token = "MB-" + match.group(1).upper()
        if token not in found:
            found.append(token)
            if len(found) >= stop_after:
                break
    return found


def lookup(s: Session, token: str, now: datetime | None = None) -> ReviewToken | None:
    """The unexpired token row for a token, or None. Looked up by hash (the database never sees
    the token), then the hash compared in constant time all the same."""
    wanted = token_hash(token)
    row = s.scalar(select(ReviewToken).where(ReviewToken.token_hash == wanted))
    if row is None or not hmac.compare_digest(row.token_hash, wanted):
        return None
    if row.expires_at <= (now or utcnow()):
        return None
    return row
