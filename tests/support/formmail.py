"""Mail that is not an article: a unit's forms (登记表, 总结, 统计表) with a subject and files of its own."""
from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
from collections.abc import Sequence

from mailkit.files import xlsx
from mailkit.mime import XLSX_CT
from support.mailfactory import SUBMIT_ADDRESS, encoded_word, headers, leaf, multipart

__all__ = ["XLSX_CT", "form_mail", "xlsx"]


def form_mail(n: int, sender: str, subject: str, when: dt.datetime,
              files: Sequence[tuple[str, bytes, str]] = (), body: str = "您好，材料请见附件。") -> bytes:
    """A Coremail-style mail with a GBK subject and the given attachments (name, bytes, type)."""
    parts = [leaf("text/plain", body.encode("gbk"), charset="GBK")]
    parts += [leaf(ctype, data, filename=name) for name, data, ctype in files]
    top = [("Date", email.utils.format_datetime(when)), ("From", f"{encoded_word('信息员', 'GBK')} <{sender}>"),
           ("To", SUBMIT_ADDRESS), ("Subject", encoded_word(subject, "GBK")),
           ("Message-ID", f"<form.{n}.{hashlib.sha1(sender.encode()).hexdigest()[:8]}@163.com>"),
           ("MIME-Version", "1.0")]
    if len(parts) == 1:
        return headers(top) + parts[0]
    top.append(("Content-Type", f'multipart/mixed; boundary="form-{n}"'))
    return headers(top) + b"\r\n" + multipart(f"form-{n}", parts)
