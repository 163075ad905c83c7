"""Realistic Chinese submission mail for tests, deterministic byte for byte.

`make_mail(n)` writes what NetEase webmail (Coremail) sends when a county 科协 mails its n-th
article: a GBK (or, for odd n, UTF-8) encoded-word Subject and From name, a GBK base64 text body,
a real .docx made with python-docx whose first paragraph is the title `第{n}篇：...`, and a small
PNG photo; attachment names are GBK encoded-words in both `name=` and `filename=`. Lines end in
CRLF (IMAP APPEND needs them). The same arguments always give the same bytes, so a message
delivered twice is the same message.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import functools
import hashlib
from collections.abc import Iterable, Sequence

from mailkit.files import Doc
from mailkit.images import png
from mailkit.mime import CRLF, CST, DOCX_CT, b64, head, word
from mailkit.mime import multipart as _mime_multipart

SUBMIT_ADDRESS = "smxskx@163.com"
# Fixed timestamps keep the .docx zip and its core properties reproducible.
_ZIP_DATE = (2026, 11, 2, 9, 30, 0)
_DOC_DATE = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
_TOPICS = ("开展“科普进社区”志愿服务活动", "举办青少年科技创新大赛", "组织农业实用技术培训",
           "召开2026年度学会工作推进会", "开展全国科普日主题活动", "深入乡村开展健康义诊")
__all__ = ["CRLF", "CST", "DOCX_CT", "SUBMIT_ADDRESS", "encoded_word", "headers", "leaf", "multipart"]

Header = tuple[str, str]


# --- small, real files -------------------------------------------------------------------

def title_of(n: int, unit: str = "卢氏县科协", index: int = 1) -> str:
    """The title line of the index-th document (1-based) of make_mail(n, unit)."""
    topic = _TOPICS[(n + index - 1) % len(_TOPICS)]
    return f"第{n}篇：{unit}{topic}" + ("" if index == 1 else f"（之{index}）")


@functools.lru_cache(maxsize=256)
def make_docx(title: str, paragraphs: tuple[str, ...]) -> bytes:
    """A Word document whose first paragraph is the title, made by python-docx, reproducible."""
    doc = Doc()
    for text in (title, *paragraphs):
        doc.para(text)
    return doc.save(author="信息员", created=_DOC_DATE, revision=1, zip_date=_ZIP_DATE)


def make_png(seed: int, width: int = 24, height: int = 16) -> bytes:
    """A small RGB PNG (a colour band picture) whose pixels depend on seed."""
    return png(width, height, lambda x, y: ((seed * 37 + x * 9) % 256, (y * 15) % 256, (seed * 91 + x * y) % 256))


# --- MIME by hand (the way Coremail writes it) -----------------------------------------

def encoded_word(text: str, charset: str) -> str:
    return word(text, charset)


def headers(pairs: Iterable[Header]) -> bytes:
    return head(*(f"{name}: {value}" for name, value in pairs))


def leaf(ctype: str, data: bytes, filename: str | None = None, charset: str | None = None) -> bytes:
    """A base64 part: an attachment named by a GBK encoded-word (name= and filename=), or text."""
    if filename is not None:
        name = encoded_word(filename, "GBK")
        part = [("Content-Type", f'{ctype}; name="{name}"'),
                ("Content-Transfer-Encoding", "base64"),
                ("Content-Disposition", f'attachment; filename="{name}"')]
    else:
        part = [("Content-Type", f"{ctype}; charset={charset}"),
                ("Content-Transfer-Encoding", "base64")]
    return headers(part) + CRLF + b64(data) + CRLF


def multipart(boundary: str, parts: Sequence[bytes]) -> bytes:
    return _mime_multipart(boundary, list(parts), preamble=b"This is a multi-part message in MIME format." + CRLF)


def date_of(n: int) -> dt.datetime:
    """When the n-th mail was written: November 2026, China time, one every 7 minutes."""
    return dt.datetime(2026, 11, 3, 8, 0, tzinfo=CST) + dt.timedelta(minutes=7 * n)


def message_id_of(n: int, sender: str = "lsxkx@163.com") -> str:
    """The Message-ID make_mail(n, sender=sender) uses by default (Coremail style)."""
    digest = hashlib.sha1(f"{sender}/{n}".encode()).hexdigest()[:16]
    return f"<{digest}.{n}.mailfactory@{sender.split('@')[-1]}>"


def make_mail(n: int, unit: str = "卢氏县科协", sender: str = "lsxkx@163.com", with_docx: bool = True,
              photos: int = 1, message_id: str | None = None,
              extra_headers: Sequence[Header] | None = None, docs: int = 1) -> bytes:
    """The n-th article mail of a unit. `docs` .docx files when with_docx (each one submission),
    else the article is the body. extra_headers (e.g. Received) go on top, as an MTA adds them."""
    doc_count = docs if with_docx else 0
    charset = "UTF-8" if n % 2 else "GBK"
    subject = f"【{unit}】{title_of(n, unit)}" + ("等稿件" if doc_count > 1 else "")
    body = (f"您好！\r\n    {unit}第{n}期信息报送，" + ("请见附件，" if doc_count else "正文如下：\r\n")
            + ("" if doc_count else f"{title_of(n, unit)}\r\n    " + _article(n, unit, 1)[0] + "\r\n")
            + "请审阅。\r\n\r\n联系人：张喆  电话：0398-1234567\r\n发自网易邮箱大师\r\n")
    parts = [leaf("text/plain", body.encode("gbk"), charset="GBK")]
    for index in range(1, doc_count + 1):
        data = make_docx(title_of(n, unit, index), _article(n, unit, index))
        parts.append(leaf(DOCX_CT, data, filename=f"{title_of(n, unit, index)[:12]}.docx"))
    for index in range(1, photos + 1):
        parts.append(leaf("image/png", make_png(n * 10 + index), filename=f"活动照片{index}.png"))
    boundary = f"----=_Part_{n}_{hashlib.sha1(unit.encode()).hexdigest()[:8]}.1762130000000"
    top: list[Header] = list(extra_headers or [])
    top += [
        ("Date", email.utils.format_datetime(date_of(n)) + " (CST)"),
        ("From", f"{encoded_word(unit, charset)} <{sender}>"),
        ("To", SUBMIT_ADDRESS),
        ("Subject", encoded_word(subject, charset)),
        ("Message-ID", message_id or message_id_of(n, sender)),
        ("X-Mailer", "Coremail Webmail Server Version 2023.2-cmXT5 build 20231205(11cb5d36)"),
        ("MIME-Version", "1.0"),
    ]
    if len(parts) == 1:
        return headers(top) + parts[0]
    top.append(("Content-Type", f'multipart/mixed; boundary="{boundary}"'))
    return headers(top) + CRLF + multipart(boundary, parts)


def _article(n: int, unit: str, index: int) -> tuple[str, ...]:
    return ((f"为深入贯彻落实全民科学素质行动规划纲要，{unit}于11月{n % 28 + 1}日组织科技工作者"
             f"深入基层开展第{index}项活动，现场发放科普资料{100 + n}余份，"
             f"受益群众{300 + 7 * n}余人次。"),
            ("活动中，专家围绕防范电信诈骗、合理膳食、冬季农作物管护等群众关心的问题进行了讲解，"
             "并耐心解答群众提问。"),
            "下一步，我们将继续发挥科协组织优势，推动科普资源向基层下沉。")


def received(hop: str, when: dt.datetime) -> Header:
    """A Received header like the one 163's MX writes (put it first in extra_headers)."""
    value = (f"from {hop} (unknown [123.58.177.{len(hop) % 200}]) by mx.163.com "
             f"(Coremail) with SMTP id _____wD3; {email.utils.format_datetime(when)}")
    return ("Received", value)


# --- mail that is not an article -------------------------------------------------------

def make_auto_reply(n: int = 1, sender: str = "nxh@163.com") -> bytes:
    """An out-of-office answer marked the RFC 3834 way."""
    top = [("Date", email.utils.format_datetime(date_of(n))),
            ("From", f"{encoded_word('市农学会', 'GBK')} <{sender}>"),
            ("To", SUBMIT_ADDRESS),
            ("Subject", encoded_word("自动回复：您的来信已收到", "GBK")),
            ("Message-ID", f"<autoreply.{n}@163.com>"),
            ("Auto-Submitted", "auto-replied"),
            ("MIME-Version", "1.0")]
    body = "您好，我近期外出学习，邮件将于返回后尽快处理。".encode("gbk")
    return headers(top) + leaf("text/plain", body, charset="GBK")


def make_bounce(n: int = 1, original: bytes | None = None) -> bytes:
    """A delivery-status report from MAILER-DAEMON about a mail of ours that could not be delivered."""
    original = original or (b"From: smxskx@163.com\r\nTo: nobody@example.invalid\r\n"
                            b"Subject: =?UTF-8?B?5Zue5omn?=\r\nMessage-ID: <receipt.1@163.com>\r\n")
    boundary = f"bounce-{n}-boundary"
    human = ("此为系统退信。您发送的邮件无法投递给以下收件人：nobody@example.invalid\r\n"
             "原因：收件人地址不存在。\r\n").encode("gbk")
    status = (b"Reporting-MTA: dns; mx.163.com\r\n\r\n"
              b"Final-Recipient: rfc822; nobody@example.invalid\r\n"
              b"Action: failed\r\nStatus: 5.1.1\r\n"
              b"Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n")
    parts = [leaf("text/plain", human, charset="GBK"),
             headers([("Content-Type", "message/delivery-status")]) + CRLF + status,
             headers([("Content-Type", "text/rfc822-headers")]) + CRLF + original]
    top = [("Date", email.utils.format_datetime(date_of(n))),
            ("From", "MAILER-DAEMON@163.com"),
            ("To", SUBMIT_ADDRESS),
            ("Subject", encoded_word("系统退信", "GBK")),
            ("Message-ID", f"<bounce.{n}@mx.163.com>"),
            ("Auto-Submitted", "auto-replied"),
            ("MIME-Version", "1.0"),
            ("Content-Type", f'multipart/report; report-type=delivery-status; boundary="{boundary}"')]
    return headers(top) + CRLF + multipart(boundary, parts)
