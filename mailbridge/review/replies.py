"""Reviewers answer the digest in plain words; each line is a decision (seed 004's 归口初审, by mail).

    采用 SMX-2026-09-0012 网站 公众号          adopt by channels (date: today, or 2026-09-20 / 9月20日)
    不采用 SMX-2026-09-0013 内容与本市无关      reject, with a note to the unit
    初审 SMX-2026-09-0014 / 批准 SMX-2026-09-0014   two-stage review
    收录正文 SMX-2026-09-0015                   count a 待补交 (超大附件) submission from its body

A reply decides only when review/trust.py grants it: one token, the one sent to this address,
and DKIM where the server checks it; each line then only on the submissions of that token's
digest. Every line of an accepted reply gets an answer (done, or why not), under the rules that
keep receipts from feeding mail loops; a refused reply gets no answer at all, so a forger learns
nothing and no one can make us mail a third party.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy.orm import Session

from mailbridge.config import Config
from mailbridge.ledger.models import Message, Submission, utcnow
from mailbridge.notify import outbox
from mailbridge.notify.compose import compose
from mailbridge.render import render_mail
from mailbridge.parse.mime import ParsedMail
from mailbridge.review import decisions, trust
from mailbridge.review.codes import Refusal
from mailbridge.review.decisions import DecisionError
from mailbridge.review.routing import group_for, is_leader, is_reviewer
from mailbridge.review.tokens import mentions_token

log = logging.getLogger(__name__)

VERBS = {  # longest first: 不采用 must not be read as 采用
    "撤销采用": "withdraw", "取消采用": "withdraw",
    "不予采用": "reject", "不采用": "reject", "退回": "reject", "退稿": "reject",
    "初审通过": "first_review", "初审": "first_review",
    "审核通过": "approve", "批准": "approve", "同意": "approve",
    "采用": "adopt", "录用": "adopt",
    "收录正文": "accept_body", "正文收录": "accept_body",
}
_VERB = re.compile("^(" + "|".join(VERBS) + r")(?=[\s:,、;]|[A-Za-z0-9]|$)")
_REF = re.compile(r"^([A-Z0-9]{1,12}-\d{4}-\d{2}-\d{3,}|\d{1,9})$", re.I)
# Where the quoted digest begins: clients' quote markers, or the digest's own first lines when a
# client quotes without a marker (its example lines must never be taken as decisions).
_QUOTE_START = re.compile(r"^(>|-{2,}.*(原始邮件|Original Message)|.*写道:$|发件人:|From:\s|On .* wrote:|"
                          r"回复的原邮件|.*以下 ?\d+ ?篇稿件待审|直接回复本邮件即可登记审稿结果|本组口令|您的审稿口令)", re.I)
_DATE = re.compile(r"^(?:(\d{4})[-/.年])?(\d{1,2})[-/.月](\d{1,2})日?$")


@dataclass
class Command:
    line: str
    verb: str
    refs: list[str]
    words: list[str]  # channels (adopt/withdraw) or the note (reject…)
    on: date | None = None


@dataclass
class Result:
    """One decision asked for and what became of it; `error` says why it was refused."""

    line: str
    verb: str
    receipt_no: str | None = None
    title: str | None = None
    channels: list[str] = field(default_factory=list)
    on: str | None = None
    error: Refusal | None = None
    detail: str | None = None


def own_lines(text: str) -> list[str]:
    """The reply's own lines (NFKC: full-width letters, digits and colons as typed on phones)."""
    out = []
    for line in text.splitlines():
        line = unicodedata.normalize("NFKC", line).strip()
        if _QUOTE_START.match(line):
            break  # the quoted digest below: its example lines are not decisions
        if line:
            out.append(line)
    return out


def parse(text: str, today: date) -> list[Command]:
    commands = []
    for line in own_lines(text):
        verb = _VERB.match(line)
        if not verb:
            continue
        refs: list[str] = []
        rest: list[str] = []
        on = None
        for word in (w for w in re.split(r"[\s,、;:]+", line[verb.end():]) if w):
            found = _DATE.match(word)
            if _REF.match(word) and not rest:
                refs.append(word.upper())
            elif found and on is None:
                try:
                    on = date(int(found.group(1) or today.year), int(found.group(2)), int(found.group(3)))
                except ValueError:
                    rest.append(word)
            else:
                rest.append(word)
        commands.append(Command(line, VERBS[verb.group(1)], refs, rest, on))
    return commands


def looks_like_reply(config: Config, mail: ParsedMail) -> bool:
    """A digest's token anywhere, or decision lines from a reviewer's address."""
    if mentions_token(f"{mail.subject or ''}\n{mail.text or ''}"):
        return True
    return is_reviewer(config, (mail.sender or "").lower()) and bool(parse(mail.text or "", decisions.today(config)))


def answer(s: Session, config: Config, row: Message, mail: ParsedMail, imports: bool = False) -> str:
    """Carry out a reviewer's reply and queue the answer, in the caller's transaction; the ledger reason.

    `imports`: `import --receipts` was given, so imported replies are answered too (as receipts are).
    """
    grant = trust.check(s, config, row, mail)
    if isinstance(grant, str):
        log.warning("message %s: reviewer reply from %s refused (no answer): %s", row.id, row.sender, grant)
        return trust.REFUSED + grant
    commands = parse(mail.text or "", decisions.today(config))
    results = [r for c in commands for r in _carry_out(s, config, grant, c)]
    done = sum(1 for r in results if r.error is None)
    reason = f"reviewer reply: {done} of {len(results)} decision(s) recorded"
    silent = why_no_answer(s, config, row, mail, imports)
    if silent:
        log.info("message %s: no answer to the reviewer reply: %s", row.id, silent)
        return f"{reason}; no answer: {silent}"
    subject, text, html = render_mail(config, "review_reply", subject=mail.subject or "", results=results)
    msg = compose(config, [grant.actor], subject, text, html, auto="auto-replied",
                  in_reply_to=row.message_id, references=mail.references)
    outbox.enqueue(s, f"reply:{row.id}", "reply", msg, message_row_id=row.id, config=config)
    return reason


def why_no_answer(s: Session, config: Config, row: Message, mail: ParsedMail, imports: bool) -> str | None:
    """Why an accepted reply gets no answer: the import gate, loop protection (RFC 3834) and the
    daily cap, as for receipts (notify/receipts.py). None when the answer is owed."""
    if row.uid is None and not imports:
        return "imported mail (use import --receipts to answer it)"
    reason = mail.bounce or mail.auto_reply or mail.no_reply
    if reason:
        return reason
    now = utcnow()
    max_age = config.receipts.max_age_days
    if max_age and row.received_at < now - timedelta(days=max_age):
        return f"arrived more than {max_age} days ago (receipts.max_age_days)"
    cap = config.receipts.max_per_sender_per_day
    if cap and outbox.sent_to_since(s, "reply", row.sender or "", now - timedelta(days=1)) >= cap:
        return f"{cap} answers already sent to {row.sender} today (receipts.max_per_sender_per_day)"
    return None


def _carry_out(s: Session, config: Config, grant: trust.Grant, command: Command) -> list[Result]:
    if not command.refs:
        return [Result(command.line, command.verb, error=Refusal.NO_REFERENCE)]
    actor = grant.actor
    out = []
    for ref in command.refs:
        result = Result(command.line, command.verb)
        try:
            with s.begin_nested():  # a refused line changes nothing; the other lines still count
                sub = decisions.find_submission(s, ref)
                result.receipt_no, result.title = sub.receipt_no, sub.title
                if sub.digest_id != grant.digest.id:  # a token decides only what its digest listed
                    raise DecisionError(Refusal.NOT_IN_DIGEST, f"{sub.receipt_no} was not listed in digest "
                                                                f"{grant.digest.id}")
                allowed = is_leader if command.verb == "approve" else is_reviewer
                if not allowed(config, actor, group_for(config, sub)):
                    raise DecisionError(Refusal.NOT_ALLOWED, f"{actor} may not decide on {sub.receipt_no}")
                _apply(s, config, sub, actor, command, result)
        except DecisionError as exc:
            result.error, result.detail = exc.code, str(exc)
        out.append(result)
    return out


def _apply(s: Session, config: Config, sub: Submission, actor: str, command: Command, result: Result) -> None:
    note = " ".join(command.words) or None
    if command.verb == "adopt":
        adopted = decisions.adopt(s, config, sub, command.words, command.on, actor, "mail")
        result.channels = [decisions.channel_for(config, a.channel).name for a in adopted]
        result.on = adopted[0].adopted_on.isoformat()
    elif command.verb == "withdraw":
        withdrawn = decisions.withdraw(s, config, sub, command.words, actor, "mail")
        result.channels = [decisions.channel_for(config, c).name for c in withdrawn]
    elif command.verb == "reject":
        decisions.reject(s, config, sub, actor, "mail", note)
    elif command.verb == "first_review":
        decisions.first_review(s, config, sub, actor, "mail", note)
    elif command.verb == "accept_body":
        decisions.accept_body(s, config, sub, actor, "mail", note)
    else:
        decisions.approve(s, config, sub, actor, "mail", note)
