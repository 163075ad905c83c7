"""Mail that is not an article: a unit's forms (登记表, 总结, 统计表) with a subject and files of its own."""
from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import io
from collections.abc import Sequence

import openpyxl
from mailfactory import SUBMIT_ADDRESS, _headers, _leaf, _multipart, encoded_word

XLSX_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def form_mail(n: int, sender: str, subject: str, when: dt.datetime,
              files: Sequence[tuple[str, bytes, str]] = (), body: str = "您好，材料请见附件。") -> bytes:
    """A Coremail-style mail with a GBK subject and the given attachments (name, bytes, type)."""
    parts = [_leaf("text/plain", body.encode("gbk"), charset="GBK")]
    parts += [_leaf(ctype, data, filename=name) for name, data, ctype in files]
    head = [("Date", email.utils.format_datetime(when)), ("From", f"{encoded_word('信息员', 'GBK')} <{sender}>"),
            ("To", SUBMIT_ADDRESS), ("Subject", encoded_word(subject, "GBK")),
            ("Message-ID", f"<form.{n}.{hashlib.sha1(sender.encode()).hexdigest()[:8]}@163.com>"),
            ("MIME-Version", "1.0")]
    if len(parts) == 1:
        return _headers(head) + parts[0]
    head.append(("Content-Type", f'multipart/mixed; boundary="form-{n}"'))
    return _headers(head) + b"\r\n" + _multipart(f"form-{n}", parts)


def xlsx(rows: list[list[str]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


