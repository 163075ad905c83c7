"""The articles a mail carries: one per document attachment, else one from the body."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from mailbridge.parse import bounds
from mailbridge.parse.documents import extract
from mailbridge.parse.html import LargeLink
from mailbridge.parse.mime import ParsedMail, Part

# All the leading marks in one pass: the possessive `*+` never gives back a mark it took, so the
# match is linear. (Stripping one mark per `sub` was quadratic: `Re: ` x 120,000 took 75 s.)
_PREFIXES = re.compile(
    r"(?:\s*+(?:(?:转发|轉發|回复|回覆|答复|fwd?|fw|re|aw|wg|tr|投稿|来稿|供稿|报送|稿件)\s*[:：]"
    r"|[【\[〔［](?:[^】\]〕］]{1,30})[】\]〕］]"
    r"|[^\s:：，,。]{2,24}(?:科协|学会|協會|协会|研究会|科学技术协会)\s*[:：]))*+",
    re.I,
)
# Where a mail client's own footer or the quoted earlier mail begins: not part of the article.
_CUT = re.compile(
    r"^\s*(?:--\s*$|发自我的|发自网易邮箱|发自 ?(?:iPhone|iPad|华为|小米|荣耀|OPPO|vivo)|Sent from my|"
    r"Get Outlook for|来自.{0,12}邮箱|-{2,}\s*(?:原始邮件|Original Message|Original|转发邮件信息|"
    r"Forwarded message)|在\s*\d{4}.{0,40}写道[:：]|On .{4,80} wrote:|"
    r"(?:发件人|From)[:：].{0,100}$)",
    re.I | re.M,
)


@dataclass
class Draft:
    title: str
    text: str
    flags: set[str] = field(default_factory=set)
    document: Part | None = None
    problem: str | None = None
    links: list[LargeLink] = field(default_factory=list)

    @property
    def body_chars(self) -> int:
        return count_chars(self.text)

    @property
    def awaiting_file(self) -> bool:
        """A body-only draft of a mail with 超大附件 links: the article is the linked file, not
        this (cover-note) body, so it waits for the file (ledger status `awaiting_file`)."""
        return self.document is None and bool(self.links)


def count_chars(text: str) -> int:
    """Non-whitespace characters: how the notices count the length of an article."""
    return len("".join(text.split()))  # split() drops exactly the characters isspace() is true for


def clean_subject(subject: str) -> str:
    """The subject without forwarding marks, submission marks and unit prefixes (`转发:`, `Fw:`,
    `投稿：`, `【XX县科协】`)."""
    marks = _PREFIXES.match(subject)
    text = subject[marks.end() if marks else 0 :].strip()
    return text or subject.strip()


def body_article(text: str) -> str:
    match = _CUT.search(text)
    return (text[: match.start()] if match else text).strip()


def articles(mail: ParsedMail, max_expanded: int, max_documents: int | None = None) -> list[Draft]:
    """The drafts of a mail; documents past `max_documents` are not read: they stay attachments,
    flagged `too_many_documents` like the drafts, for the clerk (10,000 one-line .txt files are
    not 10,000 articles)."""
    subject_title = clean_subject(mail.subject)
    docs = [p for p in mail.parts if p.kind == "document" and "roster_form" not in p.flags]
    capped = max_documents is not None and len(docs) > max_documents
    if capped:
        for part in docs[max_documents:]:
            part.flags.add("too_many_documents")
        docs = docs[:max_documents]
    drafts: list[Draft] = []
    for part in docs:
        if "too_large" in part.flags or part.data is None:
            draft = Draft(title="", text="", flags={"no_text", "too_large"}, problem="the file is over the size limit")
        else:
            got = extract(part.filename, part.data, max_expanded)
            draft = Draft(title=got.title, text=got.text, flags=set(got.flags), problem=got.problem)
        draft.document = part
        draft.title = draft.title or subject_title or PurePosixPath(part.filename).stem
        drafts.append(draft)
    if not drafts:
        cap = bounds.current().max_text_chars
        text = body_article(mail.text[:cap])
        lines = text.split("\n")
        title = subject_title
        if not title and lines and 0 < len(lines[0]) <= 60:
            title = lines[0]
        if lines and title and _same(lines[0], title):
            text = "\n".join(lines[1:]).strip()
        draft = Draft(title=title or "（无标题）", text=text)
        if not count_chars(text):
            draft.flags.add("no_text")
        if len(mail.text) > cap or bounds.current().cut & {"body", "text"}:
            draft.flags.add("truncated")  # the body was longer than ingest.max_text_chars
        drafts.append(draft)
    for draft in drafts:
        draft.title = draft.title[:500]
        if capped:
            draft.flags.add("too_many_documents")
        if mail.links:
            draft.flags.add("large_attachment_link")
            draft.links = mail.links
    return drafts


def _same(a: str, b: str) -> bool:
    squash = lambda s: re.sub(r"\s+", "", s)  # noqa: E731
    return squash(a) == squash(b) or squash(clean_subject(a)) == squash(b)
