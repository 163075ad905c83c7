"""Write the sample mails of tests/samples/: <case>.eml (raw, byte-exact) and <case>.json (expected result).

Each case reproduces one item of shared/FIELD-NOTES.md the way the client really writes it, so headers are
assembled by hand: Python's email package would re-encode them and erase the quirk. The output is deterministic
(fixed dates, boundaries, Message-IDs and zip timestamps); regenerate with

    .venv/bin/python tests/samples/make_samples.py [--out DIR] [CASE...]

Every helper comes from the mail kit (mailkit/); tests/test_generated_mail.py checks that a fresh run
reproduces the committed files byte for byte.

The .json keys are explained in tests/test_samples.py, which checks them against the real CLI.
"""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: mailkit

import _articles as A
from _clients import NETEASE_BIG, QQ_BIG, TO, coremail, crlf, date, html_of, plain_mail, qq

from mailkit.files import Doc, legacy_doc, pdf
from mailkit.files import docm as _docm
from mailkit.files import zip_bomb_docx as _zip_bomb_docx
from mailkit.images import SMALL_JPEG as JPEG
from mailkit.images import png as _png
from mailkit.mime import (
    CRLF,
    DOCX_CT,
    b64,
    entity,
    multipart,
    pct,
    qp_binary,
    qp_text,
    split_word_pair,
    word,
    words,
)

HERE = Path(__file__).resolve().parent
CASES = {}


def case(func):
    CASES[func.__name__] = func
    return func


def result(description: str, message: dict, submissions: list[dict], **extra) -> dict:
    return {"description": description, "imap_ok": extra.pop("imap_ok", True), "message": message,
            "submissions": submissions, "submission_count": len(submissions), **extra}


def submission(sender: str, mid: str | None = None) -> dict:
    """The expected ledger row of a mail that becomes submissions."""
    return {"disposition": "submission", "sender": sender, **({"message_id": f"<{mid}>"} if mid else {})}


ZIP_DATE = (2026, 11, 20, 9, 30, 0)  # fixed member timestamps keep the .docx bytes reproducible


def docx(title: str, paragraphs: list[str], *, table: list[tuple[str, ...]] | None = None,
         author: str = "信息员", leading_blank: bool = False) -> bytes:
    """A real .docx: a bold centred title line, body paragraphs, optionally one table."""
    doc = Doc()
    if leading_blank:
        doc.para()
    doc.para(title, centre=True, bold=True, size=18)
    for text in paragraphs:
        doc.para(text, indent=24)
    if table:
        doc.table(table)
    return doc.save(author=author, created=dt.datetime(2026, 11, 20, 9, 0, 0), zip_date=ZIP_DATE)


def article_docx(art: tuple[str, list[str]], **kw) -> bytes:
    return docx(art[0], art[1], **kw)


def docm(plain_docx: bytes) -> bytes:
    return _docm(plain_docx, ZIP_DATE)


def zip_bomb_docx() -> bytes:
    return _zip_bomb_docx(ZIP_DATE)


def png() -> bytes:
    """A small photo stand-in: a 40x30 blue-to-green gradient."""
    return _png(40, 30, lambda x, y: (30 + 4 * x, 90 + 5 * y, 200 - 3 * y))


def expect(filename: str | None, data: bytes, **extra: object) -> dict:
    """An expected attachment record: what the CLI must report for a file that came with the mail."""
    rec = {"filename": filename} if filename is not None else {}
    rec.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    rec.update(extra)
    return rec


# --- 1-4: how each client encodes -----------------------------------------------------------------------

@case
def netease_webmail_gbk_docx():
    doc = article_docx(A.LUSHI_KEPURI, table=A.LUSHI_TABLE, author="卢氏县科协")
    subject, mid = "【卢氏县科协】" + A.LUSHI_KEPURI[0], "4b2c9e1.6f1a.19a8b2c3d4e.Coremail.lsxkx@163.com"
    files = [("卢氏县科协举办全国科普日主题活动.docx", doc, DOCX_CT), ("科普日活动现场.jpg", JPEG, "image/jpeg")]
    eml = coremail(name="卢氏县科协", addr="lsxkx@163.com", subject=subject, mid=mid, when=(22, 9, 41), files=files,
                   text="您好：\n附件是我单位本月信息稿件及活动照片，请审阅。\n\n卢氏县科协 王磊\n电话：0398-7861234")
    return eml, result(
        "163 webmail (Coremail): GBK Subject folded into two encoded-words, GBK encoded-word From name in quotes, "
        "GBK base64 text+html, a .docx (title, 4 paragraphs, a table) and a JPEG, both named by GBK encoded-words",
        submission("lsxkx@163.com", mid),
        [{"subject": subject, "sender_name": "卢氏县科协", "title": A.LUSHI_KEPURI[0], "flags_exclude": ["no_text"],
          "attachments": [expect(fn, data) for fn, data, _ in files]}])


@case
def qq_encoded_word_in_quotes():
    doc = article_docx(A.YIMA_WEIWEN, author="Administrator")
    subject, mid = "【义马市科协】" + A.YIMA_WEIWEN[0], "tencent_8C5A3E0F1B2D4C6E8A0B1C2D3E4F5A6B7C08@qq.com"
    fn = "义马市科协走访慰问科技工作者.docx"
    eml = qq(name="义马市科协", addr="12345@qq.com", subject=subject, mid=mid, when=(22, 10, 15),
             text="三门峡市科协：\n报送信息一篇，请审核。", files=[(fn, doc)])
    return eml, result(
        "QQ Mail: From display name is a gb18030 encoded-word inside quotes (RFC 2047 forbids it, QQ sends it); "
        "attachment 'charset=\"gb18030\"; name=\"=?gb18030?B?...?=\"'",
        submission("12345@qq.com", mid),
        [{"subject": subject, "sender_name": "义马市科协", "title": A.YIMA_WEIWEN[0], "attachments": [expect(fn, doc)]}])


@case
def foxmail_long_gb18030_words():
    doc = article_docx(A.YIXUEHUI_PEIXUN, author="市医学会")
    subject, fn = "【三门峡市医学会】" + A.YIXUEHUI_PEIXUN[0], A.YIXUEHUI_PEIXUN[0] + "（信息稿）.docx"
    assert len(word(subject, "gb18030")) > 75 and len(word(fn, "gb18030")) > 75
    mid, b1, b2 = "202611221035183926517@163.com", "----=_001_NextPart384126517354_=----", "----=_002_NextPart384126517354_=----"
    html = ('<html><head><meta http-equiv="content-type" content="text/html; charset=gb18030"></head><body>\n'
            "<div>市科协：</div><div>&nbsp; 报送我会培训班信息一篇，请审阅。</div>\n</body></html>")
    alt = multipart(b2, [
        entity(['Content-Type: text/plain;\n\tcharset="gb18030"', "Content-Transfer-Encoding: base64"],
               b64(crlf("市科协：\n  报送我会培训班信息一篇，请审阅。\n\n三门峡市医学会").encode("gb18030"))),
        entity(['Content-Type: text/html;\n\tcharset="gb18030"', "Content-Transfer-Encoding: quoted-printable"],
               qp_text(html, "gb18030"))])
    doc_part = entity([f'Content-Type: application/octet-stream;\n\tname="{word(fn, "gb18030")}"',
                       "Content-Transfer-Encoding: base64",
                       f'Content-Disposition: attachment;\n\tfilename="{word(fn, "gb18030")}"'], b64(doc))
    eml = entity([f"Date: {date(22, 10, 35, 18)}", f"From: {word('三门峡市医学会', 'gb18030')} <smxyxh@163.com>", TO,
                  f"Subject: {word(subject, 'gb18030')}", "X-Priority: 3", "X-Has-Attach: yes",
                  "X-Mailer: Foxmail 7.2.25.254[cn]", "Mime-Version: 1.0", f"Message-ID: <{mid}>",
                  f'Content-Type: multipart/mixed;\n\tboundary="{b1}"'],
                 multipart(b1, [entity([f'Content-Type: multipart/alternative;\n\tboundary="{b2}"'], alt), doc_part],
                           preamble=b"This is a multi-part message in MIME format.\r\n"))
    return eml, result(
        "Foxmail 7.2: single gb18030 encoded-words longer than 75 characters in Subject and in the attachment names",
        submission("smxyxh@163.com", mid),
        [{"subject": subject, "sender_name": "三门峡市医学会", "title": A.YIXUEHUI_PEIXUN[0],
          "attachments": [expect(fn, doc)]}])


@case
def outlook_gb2312_q_folded():
    doc = article_docx(A.ZHIYUAN_ZHANSHI, author="kx")
    subject, fn = "【三门峡职业技术学院科协】" + A.ZHIYUAN_ZHANSHI[0], "三门峡职业技术学院科协大学生科技创新成果展信息.docx"
    folded = "\n ".join(words(fn, "gb2312", max_bytes=14, mode="Q"))  # Q-words folded inside one quoted string
    mid = "000701db5c3a$8f2e6b40$ad8b41c0$@126.com"
    b1, b2 = "----=_NextPart_000_0007_01DB5C3A.8F2E6B40", "----=_NextPart_001_0008_01DB5C3A.8F2E6B40"
    html = ('<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><meta http-equiv=Content-Type '
            'content="text/html; charset=gb2312"><meta name=Generator content="Microsoft Word 15 (filtered medium)">'
            "</head>\n<body lang=ZH-CN><div class=WordSection1><p class=MsoNormal>市科协调宣部：<o:p></o:p></p>"
            "<p class=MsoNormal>附件为我院科协信息稿件，请审阅。</p></div></body></html>")
    alt = multipart(b2, [
        entity(['Content-Type: text/plain;\n\tcharset="gb2312"', "Content-Transfer-Encoding: base64"],
               b64(crlf("市科协调宣部：\n\n    附件为我院科协信息稿件，请审阅。\n\n三门峡职业技术学院科协").encode("gb2312"))),
        entity(['Content-Type: text/html;\n\tcharset="gb2312"', "Content-Transfer-Encoding: quoted-printable"],
               qp_text(html, "gb2312"))], preamble=b"")
    doc_part = entity([f'Content-Type: {DOCX_CT};\n\tname="{folded}"', "Content-Transfer-Encoding: base64",
                       f'Content-Disposition: attachment;\n\tfilename="{folded}"'], b64(doc))
    eml = entity([f"From: \"{word('三门峡职业技术学院科协', 'gb2312')}\" <smzykx@126.com>", TO,
                  f"Subject: {word(subject, 'gb2312')}", f"Date: {date(22, 11, 2, 45)}", f"Message-ID: <{mid}>",
                  "MIME-Version: 1.0", f'Content-Type: multipart/mixed;\n\tboundary="{b1}"',
                  "X-Mailer: Microsoft Outlook 16.0", "Thread-Index: AdtcOoOi/0l2l6Q1R9ysEw9E2Zs1Ag==",
                  "Content-Language: zh-cn"],
                 multipart(b1, [entity([f'Content-Type: multipart/alternative;\n\tboundary="{b2}"'], alt), doc_part],
                           preamble=b"This is a multipart message in MIME format.\r\n"))
    return eml, result(
        "Outlook 2016 (Chinese locale): gb2312 everywhere; the attachment name is Q-encoded and folded over several "
        "lines inside one quoted string; HTML part quoted-printable",
        submission("smzykx@126.com", mid),
        [{"subject": subject, "sender_name": "三门峡职业技术学院科协", "title": A.ZHIYUAN_ZHANSHI[0],
          "attachments": [expect(fn, doc)]}])


# --- 5-10: charset trouble --------------------------------------------------------------------------------

@case
def mislabelled_gb2312_gbk_chars():
    doc = article_docx(A.LINGBAO_HUOJIANG, author="李堃")
    subject, fn = "【灵宝市科协】王喆、张玥、朱镕同学获省青少年科技创新大赛一等奖", "王喆张玥朱镕获奖信息.docx"

    def mislabel(text: str) -> str:  # GBK bytes under a gb2312 label, as Outlook Express and Foxmail 6 send
        return word(text, "gb2312", codec="gbk")

    mid, b = "000b01db5c51$2c3a4e10$0201a8c0@lbkx", "----=_NextPart_000_000B_01DB5C51.2C3A4E10"
    eml = entity([f'From: "{mislabel("李堃")}" <lbskx@163.com>', "To: <smxskx@163.com>", f"Subject: {mislabel(subject)}",
                  f"Date: {date(22, 14, 8, 33)}", f"Message-ID: <{mid}>", "MIME-Version: 1.0",
                  f'Content-Type: multipart/mixed;\n\tboundary="{b}"', "X-Priority: 3", "X-MSMail-Priority: Normal",
                  "X-Mailer: Microsoft Outlook Express 6.00.2900.5512",
                  "X-MimeOLE: Produced By Microsoft MimeOLE V6.00.2900.5512"],
                 multipart(b, [
                     entity(['Content-Type: text/plain;\n\tcharset="gb2312"', "Content-Transfer-Encoding: base64"],
                            b64(crlf("请审阅附件，谢谢！\n灵宝市科协 李堃").encode("gbk"))),
                     entity([f'Content-Type: application/octet-stream;\n\tname="{mislabel(fn)}"',
                             "Content-Transfer-Encoding: base64",
                             f'Content-Disposition: attachment;\n\tfilename="{mislabel(fn)}"'], b64(doc))],
                     preamble=b"This is a multi-part message in MIME format.\r\n"))
    return eml, result(
        "Subject, From name, body and attachment name labelled gb2312 but holding GBK-only characters (喆 玥 镕 堃): "
        "decode the gb2312 family as gb18030 (mail-parser 4.8 and Python's gb2312 codec lose them)",
        submission("lbskx@163.com", mid),
        [{"subject": subject, "sender_name": "李堃", "title": A.LINGBAO_HUOJIANG[0], "attachments": [expect(fn, doc)]}])


def _split(charset: str, mid: str):
    doc = article_docx(A.SHANZHOU_FANGZHA, author="陕州区科协")
    subject, name, fn = "【陕州区科协】老年人防诈骗讲座：警惕“399元保健品”骗局", "陕州区科协宣传员", "防诈骗讲座.docx"
    cut = 1 if charset == "gbk" else 2  # bytes of the character left in the first word
    b = "----=_001_NextPart117428306553_=----"
    eml = entity([f"Date: {date(22, 15, 30, 5)}", f"From: {' '.join(split_word_pair(name, '传', charset, cut))} <szqkx@163.com>",
                  TO, "Subject: " + "\n ".join(split_word_pair(subject, "元", charset, cut)), f"Message-ID: <{mid}>",
                  "MIME-Version: 1.0", "X-Mailer: Foxmail 7.2.23.121[cn]", f'Content-Type: multipart/mixed;\n\tboundary="{b}"'],
                 multipart(b, [
                     entity([f'Content-Type: text/plain;\n\tcharset="{charset}"', "Content-Transfer-Encoding: base64"],
                            b64("请审阅附件。".encode(charset))),
                     entity([f'Content-Type: application/octet-stream;\n\tname="{word(fn, charset)}"',
                             "Content-Transfer-Encoding: base64",
                             f'Content-Disposition: attachment;\n\tfilename="{word(fn, charset)}"'], b64(doc))]))
    return eml, result(
        f"One {charset} character split across two adjacent encoded-words (元 in the Subject, 传 in the From name): "
        "join the words' bytes before decoding (policy.default gives '399Ԫ')",
        submission("szqkx@163.com", mid),
        [{"subject": subject, "sender_name": name, "title": A.SHANZHOU_FANGZHA[0], "attachments": [expect(fn, doc)]}])


@case
def split_multibyte_across_words_gbk():
    return _split("gbk", "202611221530057712480@163.com")


@case
def split_multibyte_across_words_utf8():
    return _split("utf-8", "202611221530057712481@163.com")


@case
def raw_8bit_gbk_subject():
    doc = article_docx(A.HUBIN_SHEQU, author="湖滨区科协")
    subject, name, fn = "【湖滨区科协】" + A.HUBIN_SHEQU[0], "湖滨区科协", "湖滨区科协科普进社区.docx"
    mid, b = "tencent_1F3E5D7C9B2A4E6F8D0C2B4A6E8F0D1C3B09@qq.com", "----=_NextPart_6740F3A1_0A1B2C3D_4E5F6A7B"

    def gbk(text: str) -> bytes:  # raw 8-bit header bytes, no encoded-word at all
        return text.encode("gbk")

    eml = entity([b'From: "' + gbk(name) + b'" <2864512345@qq.com>', TO, b"Subject: " + gbk(subject),
                  "Mime-Version: 1.0", f'Content-Type: multipart/mixed;\n\tboundary="{b}"',
                  "Content-Transfer-Encoding: 8Bit", f"Date: {date(22, 16, 2, 41)}", f"Message-ID: <{mid}>",
                  "X-QQ-MIME: TCMime 1.0 by Tencent", "X-Mailer: QQMail 2.x", "X-QQ-Mailer: QQMail 2.x"],
                 multipart(b, [
                     entity(['Content-Type: text/plain;\n\tcharset="gbk"', "Content-Transfer-Encoding: 8bit"],
                            gbk(crlf("市科协：\n    报送信息一篇，请查收。\n湖滨区科协"))),
                     entity([b'Content-Type: application/octet-stream;\r\n\tname="' + gbk(fn) + b'"',
                             b'Content-Disposition: attachment; filename="' + gbk(fn) + b'"',
                             "Content-Transfer-Encoding: base64"], b64(doc))],
                     preamble=b"This is a multi-part message in MIME format.\r\n"))
    return eml, result(
        "QQ recall-notice shape: raw 8-bit GBK bytes (no encoded-word) in Subject, From display name and attachment "
        "filename; recover them via surrogateescape bytes -> gb18030",
        submission("2864512345@qq.com", mid),
        [{"subject": subject, "sender_name": name, "title": A.HUBIN_SHEQU[0], "attachments": [expect(fn, doc)]}])


@case
def rfc2231_filename():
    doc = article_docx(A.NONGXUEHUI_PINGGUO, author="市农学会")
    subject, fn1, fn2 = "【三门峡市农学会】" + A.NONGXUEHUI_PINGGUO[0], "苹果冬季管理技术培训.docx", "张村镇果园现场培训照片.jpg"
    enc = pct(fn2)
    mid, b = "5f0e2c4a-9b1d-4e7a-8c3f-2a6d1b9e0c47@163.com", "------------0aB3kE9s7rT2xW1qL5mN8pZc"
    eml = entity([f"Message-ID: <{mid}>", f"Date: {date(22, 17, 12, 9)}", "MIME-Version: 1.0",
                  "User-Agent: Mozilla Thunderbird", "Content-Language: zh-CN", TO,
                  f"From: {word('三门峡市农学会', 'UTF-8')} <smxnxh@163.com>", f"Subject: {word(subject, 'UTF-8')}",
                  f'Content-Type: multipart/mixed; boundary="{b}"'],
                 multipart(b, [
                     entity(["Content-Type: text/plain; charset=UTF-8; format=flowed", "Content-Transfer-Encoding: 8bit"],
                            "附件是信息稿和照片。".encode()),
                     entity([f"Content-Type: {DOCX_CT}", f"Content-Disposition: attachment; filename*=UTF-8''{pct(fn1)}",
                             "Content-Transfer-Encoding: base64"], b64(doc)),
                     entity(["Content-Type: image/jpeg",
                             f"Content-Disposition: attachment;\n filename*0*=UTF-8''{enc[:60]};\n filename*1*={enc[60:]}",
                             "Content-Transfer-Encoding: base64"], b64(JPEG))],
                     preamble=b"This is a multi-part message in MIME format."))
    return eml, result(
        "RFC 2231: filename*=UTF-8''<percent-encoded> on the .docx, and filename*0*/*1* continuations on the "
        "photo, cut inside the UTF-8 bytes of 场; neither part has a name= parameter",
        submission("smxnxh@163.com", mid),
        [{"subject": subject, "sender_name": "三门峡市农学会", "title": A.NONGXUEHUI_PINGGUO[0],
          "attachments": [expect(fn1, doc), expect(fn2, JPEG)]}])


@case
def name_only_in_content_type():
    doc = article_docx(A.HUANGJIN_JIANGBI, author="zyhj")
    fn1, fn2 = "讲理想比贡献活动信息.docx", "技术讲座.jpg"
    mid, b = "tencent_3A5C7E9B1D2F4A6C8E0B2D4F6A8C0E1B2D07@qq.com", "----=_NextPart_6740E1B2_1C2D3E4F_5A6B7C8D"
    eml = entity([f"From: \"{word('中原黄金冶炼厂科协', 'utf-8')}\" <3012345678@qq.com>", TO,
                  f"Subject: {word('【企业科协】' + A.HUANGJIN_JIANGBI[0], 'utf-8')}", "Mime-Version: 1.0",
                  f'Content-Type: multipart/mixed;\n\tboundary="{b}"', f"Date: {date(22, 18, 20, 30)}",
                  f"Message-ID: <{mid}>", "X-Mailer: iPhone Mail (21G93)"],
                 multipart(b, [
                     entity(['Content-Type: text/plain;\n\tcharset="utf-8"', "Content-Transfer-Encoding: base64"],
                            b64("信息稿见附件。".encode())),
                     entity([f'Content-Type: {DOCX_CT};\n\tname="{word(fn1, "utf-8")}"',
                             "Content-Transfer-Encoding: base64", "Content-Disposition: attachment"], b64(doc)),
                     entity([f'Content-Type: image/jpeg;\n\tname="{word(fn2, "utf-8")}"',
                             "Content-Transfer-Encoding: base64"], b64(JPEG))]))
    return eml, result(
        "File names only in Content-Type name= (utf-8 encoded-words): the .docx has 'Content-Disposition: attachment' "
        "without filename, the photo has no Content-Disposition at all",
        submission("3012345678@qq.com", mid),
        [{"sender_name": "中原黄金冶炼厂科协", "title": A.HUANGJIN_JIANGBI[0],
          "attachments": [expect(fn1, doc), expect(fn2, JPEG)]}])


@case
def unknown_charset_labels():
    subject, photo = "【渑池县科协】渑池县科协举办青少年科技模型竞赛", "竞赛现场.jpg"
    mid, b = "20261122190512.A7C3E1@mckx.126.com", "=_mixed 0035A1B2482589F4_="
    eml = entity([f"From: \"{word('渑池县科协', 'windows-936', codec='gbk')}\" <mckx@126.com>", TO,
                  f"Subject: {word(subject, 'x-gbk', codec='gbk')}", f"Date: {date(22, 19, 5, 12)}",
                  f"Message-ID: <{mid}>", "MIME-Version: 1.0", "X-Mailer: Microsoft Outlook Express 6.00.2900.5512",
                  f'Content-Type: multipart/mixed; boundary="{b}"'],
                 multipart(b, [
                     entity(["Content-Type: text/plain; charset=cn-big5", "Content-Transfer-Encoding: base64"],
                            b64(crlf(A.MIANCHI_BIG5_BODY).encode("big5"))),
                     entity([f'Content-Type: image/jpeg; name="{word(photo, "unknown-8bit", codec="gbk")}"',
                             f'Content-Disposition: attachment; filename="{word(photo, "unknown-8bit", codec="gbk")}"',
                             "Content-Transfer-Encoding: base64"], b64(JPEG))]))
    return eml, result(
        "Charset labels Python has no codec for: Subject x-gbk, From windows-936, body cn-big5 (Traditional text), "
        "photo name unknown-8bit holding GBK bytes. No document: one submission built from the body",
        submission("mckx@126.com", mid),
        [{"subject": subject, "sender_name": "渑池县科协", "title": "渑池县科协举办青少年科技模型竞赛",
          "flags_exclude": ["no_text"], "text_contains": ["青少年科技模型競賽", "航海模型"],
          "attachments": [expect(photo, JPEG)]}])


# --- 11: attachment transfer encodings (mail-parser #80 corrupts 7bit/8bit/binary) -------------------------

def _cte(cte: str, fn: str, ctype: str, data: bytes, body: bytes, title: str, description: str, **extra):
    mid, b = f"cte-{cte}-20261123080000.3F2A@smxkx.163.com", f"=_cte_{cte}_boundary_4c1f9a2e7b6d"
    eml = entity([f"Date: {date(23, 8, 0)}", f"From: {word('三门峡市科协科普部', 'UTF-8')} <smxkxkpb@163.com>", TO,
                  f"Subject: {word('【科普部】' + title, 'UTF-8')}", f"Message-ID: <{mid}>", "MIME-Version: 1.0",
                  f'Content-Type: multipart/mixed; boundary="{b}"'],
                 multipart(b, [
                     entity(["Content-Type: text/plain; charset=UTF-8", "Content-Transfer-Encoding: 8bit"],
                            "请查收附件。".encode()),
                     entity([f'Content-Type: {ctype}; name="{word(fn, "UTF-8")}"', f"Content-Transfer-Encoding: {cte}",
                             f'Content-Disposition: attachment; filename="{word(fn, "UTF-8")}"'], body)]))
    return eml, result(description, submission("smxkxkpb@163.com", mid),
                       [{"sender_name": "三门峡市科协科普部", "title": title, "attachments": [expect(fn, data)]}], **extra)


@case
def attachment_8bit_cte():
    title = "市科协举办“科学家精神进校园”报告会"
    data = crlf(f"\ufeff{title}\n\n11月20日，市科协在市第一高级中学举办“科学家精神进校园”报告会，1200余名师生聆听报告。\n")
    return _cte("8bit", "科学家精神进校园.txt", "text/plain; charset=UTF-8", data.encode(), data.encode(), title,
                "A .txt attachment (UTF-8 with BOM, CRLF lines) sent raw with Content-Transfer-Encoding: 8bit: the "
                "stored file must be the exact bytes sent; the title is its first line without the BOM")


@case
def attachment_7bit_cte():
    title = "市科协开展科技志愿服务进社区活动"
    data = crlf(f"{title}\n\n11月21日，市科协组织30名科技志愿者走进湖滨区崖底街道，开展健康义诊和科普宣讲。\n").encode("gbk")
    return _cte("7bit", "科技志愿服务进社区.txt", "text/plain; charset=GBK", data, data, title,
                "A GBK .txt attachment labelled 'Content-Transfer-Encoding: 7bit' but holding 8-bit bytes (old clients "
                "do this): exact bytes stored, title decoded from GBK")


@case
def attachment_qp_cte():
    doc = article_docx(A.SHIKEXIE_HUIYI, author="科普部")
    return _cte("quoted-printable", "科普工作推进会.docx", DOCX_CT, doc, qp_binary(doc), A.SHIKEXIE_HUIYI[0],
                "A .docx attachment sent quoted-printable (CR, LF and NUL all escaped): decoded bytes equal the file")


@case
def attachment_binary_cte():
    doc = article_docx(A.SHIKEXIE_HUIYI, author="科普部")
    return _cte("binary", "科普工作推进会.docx", DOCX_CT, doc, doc, A.SHIKEXIE_HUIYI[0],
                "A .docx (zip: NUL bytes, bare CR and LF) sent raw with Content-Transfer-Encoding: binary. NUL cannot "
                "travel over IMAP APPEND: this sample is for 'import' only", imap_ok=False)


# --- 12-14: large-attachment links, body-only articles, forwarding ------------------------------------------

@case
def netease_large_attachment_link():
    url = ("https://mail.163.com/large-attachment-download/index.html?p=X-NETEASE-HUGE-ATTACHMENT"
           "&file=djAyZm1qUWdJc2Z0c0VFZFpGYlh2ZDd2UT09&title=%E7%A7%91%E6%99%AE%E6%97%A5")
    big = {"url": url, "name": "卢氏县科普日活动视频.mp4", "size": "286.5M", "expiry": "2026年12月07日 12:00"}
    subject, mid = "【卢氏县科协】卢氏县科协科普日活动视频", "6e3a9c2.7b1c.19a8d4e5f6a.Coremail.lsxkx@163.com"
    text = "市科协：\n科普日活动视频较大，以超大附件发送，请及时下载。\n卢氏县科协"
    plain = text + "\n\n从网易163邮箱发来的超大附件\n{name} ({size}, {expiry} 到期)\n下载地址：{url}".format(**big)
    eml = coremail(name="卢氏县科协", addr="lsxkx@163.com", subject=subject, mid=mid, when=(22, 12, 0), text=plain,
                   html=html_of(text) + NETEASE_BIG.format(**big))
    return eml, result(
        "163 超大附件: no MIME attachment, an expiring download-link block (divNeteaseBigAttach, <a download>, "
        "'2026年12月07日 12:00 到期') in the HTML body: flagged so a person downloads the file before it expires",
        submission("lsxkx@163.com", mid),
        [{"subject": subject, "title": "卢氏县科协科普日活动视频", "flags_include": ["large_attachment_link"],
          "attachments": []}])


@case
def qq_large_attachment_link():
    url = ("https://mail.qq.com/cgi-bin/ftnExs_download?k=2a6236617e4a2f9c1c7a0f2d4065001e5d575f5a0351545c4e0a04510"
           "50f4b5a51550e1a5d0b5c5b1e5f535d50034e035a5c0d6a3e7d&t=exs_ftn_download&code=7a1c2d8e")
    big = {"url": url, "name": "渑池县科技工作者座谈会照片.zip", "size": "156.20M", "expiry": "2026年12月22日 19:40"}
    subject, mid = "【渑池县科协】渑池县科协召开科技工作者座谈会", "tencent_6B8D0F2A4C6E8A0C2E4A6C8E0A2C4E6A8C05@qq.com"
    text = "市科协：\n座谈会照片较多，通过超大附件发送。"
    plain = text + "\n\n从QQ邮箱发来的超大附件\n{name} ({size}, {expiry} 到期)\n进入下载页面：{url}".format(**big)
    eml = qq(name="渑池县科协", addr="1987654321@qq.com", subject=subject, mid=mid, when=(22, 19, 40), text=plain,
             html=html_of(text) + QQ_BIG.format(**big))
    return eml, result(
        "QQ 超大附件: div.bigatt_bt with an ftnExs_download link and '到期时间' text, no MIME attachment",
        submission("1987654321@qq.com", mid),
        [{"subject": subject, "sender_name": "渑池县科协", "title": "渑池县科协召开科技工作者座谈会",
          "flags_include": ["large_attachment_link"], "attachments": []}])


@case
def body_only_html_article():
    subject, mid = "【卢氏县科协】卢氏县开展科普进校园活动", "ADIAuwBmJg8Yk3qT2x9PLaqp.3.1763786520618.Hmail.lsxkx@163.com"
    html = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8"><style>body { line-height: '
            '1.5; font-family: "Microsoft YaHei", sans-serif; } p { margin: 0; } .sig { color: #999; }</style></head>'
            "<body>\n<p><b>卢氏县开展科普进校园活动</b></p><p><br></p>\n"
            "<p>&nbsp;&nbsp;&nbsp;&nbsp;11月19日，卢氏县科协联合县教育局走进城关镇第一小学，开展“科学梦&nbsp;少年梦”"
            "科普进校园活动。<br>科普志愿者为同学们演示了静电球、磁悬浮等趣味科学实验，并讲解了其中的科学原理。</p>\n"
            "<p>&nbsp;&nbsp;&nbsp;&nbsp;活动还设置了科普图书角和科技小制作体验区，600余名师生参与其中。</p>\n"
            '<p><br></p><div class="sig" id="ntes-iosmail-signature"><span>发自网易邮箱大师</span></div></body></html>')
    eml = entity([f"Date: {date(22, 12, 42)}", f"From: \"{word('卢氏县科协', 'UTF-8')}\" <lsxkx@163.com>", TO,
                  f"Message-ID: <{mid}>", f"Subject: {word(subject, 'UTF-8')}", "MIME-Version: 1.0",
                  "Content-Type: text/html; charset=UTF-8", "Content-Transfer-Encoding: base64",
                  "X-Mailer: Mail Master iOS 7.19.4"], b64(html.encode()))
    return eml, result(
        "网易邮箱大师: the article is the HTML body only (<style>, <p>, &nbsp;, <br>, a signature), no attachment",
        submission("lsxkx@163.com", mid),
        [{"subject": subject, "sender_name": "卢氏县科协", "title": "卢氏县开展科普进校园活动", "flags_exclude": ["no_text"],
          "text_contains": ["磁悬浮", "600余名师生"], "text_excludes": ["font-family", "&nbsp;", "<p>"],
          "attachments": []}])


@case
def forwarded_subject_prefixes():
    doc = article_docx(A.MIANCHI_ZHUNONG, author="mckx", leading_blank=True)
    subject, mid = "转发: Fw: 【渑池县科协】渑池县科协开展科技助农活动", "1a2b3c4.5d6e.19a8e1f2a3b.Coremail.mckx@126.com"
    text = ("\n\n-------- 转发邮件信息 --------\n发件人：\"张强\" <zhangqiang@126.com>\n"
            "主题：Fw: 【渑池县科协】渑池县科协开展科技助农活动")
    eml = coremail(name="渑池县科协", addr="mckx@126.com", subject=subject, mid=mid, when=(23, 9, 5), text=text,
                   files=[("科技助农.docx", doc, DOCX_CT)])
    return eml, result(
        "Subject with forwarding prefixes '转发: Fw: 【渑池县科协】'; the .docx starts with an empty paragraph, so "
        "the title is its first non-empty one",
        submission("mckx@126.com", mid),
        [{"subject": subject, "title": A.MIANCHI_ZHUNONG[0], "attachments": [expect("科技助农.docx", doc)]}])


@case
def forwarded_subject_body_only():
    subject, mid = "转发: Fw: 【渑池县科协】" + A.MIANCHI_YONGDIAN[0], "1a2b3c5.5d6f.19a8e1f2a3c.Coremail.mckx@126.com"
    eml = coremail(name="渑池县科协", addr="mckx@126.com", subject=subject, mid=mid, when=(23, 9, 20),
                   text="\n".join(A.MIANCHI_YONGDIAN[1]))
    return eml, result(
        "Forwarded body-only article: the title is the subject without '转发:', 'Fw:' and the unit prefix",
        submission("mckx@126.com", mid),
        [{"subject": subject, "title": A.MIANCHI_YONGDIAN[0], "flags_exclude": ["no_text"],
          "text_contains": ["大功率取暖设备"], "attachments": []}])


# --- 15-16: auto-replies and bounces: never answered, never submissions -----------------------------------

RECEIPT_MID = "<mailbridge.receipt.20261122.0042@smxskx.163.com>"
RECEIPT = entity([
    "Return-Path: <smxskx@163.com>", f"Message-ID: {RECEIPT_MID}", f"Date: {date(22, 15, 3, 30)}",
    f"From: {word('三门峡市科协信息宣传', 'utf-8')} <smxskx@163.com>", "To: liuwei@smxnxh.org.cn",
    f"Subject: {word('【三门峡市科协】投稿回执（编号 SMX-202611-0045）', 'utf-8')}", "Auto-Submitted: auto-replied",
    "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64",
], b64("您好，您报送的信息已收到，回执编号 SMX-202611-0045。".encode()))


def _not_submission(disposition: str, sender: str | None, mid: str) -> dict:
    return {"disposition": disposition, **({"sender": sender} if sender else {}), "message_id": f"<{mid}>"}


@case
def auto_reply_163():
    mid = "7c1d2e3.8f4a.19a8f0a1b2c.Coremail.lsxkx@163.com"
    eml = coremail(name="卢氏县科协", addr="lsxkx@163.com", subject="自动回复: 【三门峡市科协】投稿回执（编号 SMX-202611-0042）",
                   text="您好，您的来信已收到，我会尽快处理。\n——卢氏县科协", mid=mid, when=(22, 9, 43),
                   extra=("Auto-Submitted: auto-replied", f"In-Reply-To: {RECEIPT_MID}"))
    return eml, result("163 自动回复 to a receipt: 'Auto-Submitted: auto-replied' and a 自动回复 subject",
                       _not_submission("auto_reply", "lsxkx@163.com", mid), [])


@case
def auto_reply_x_autoreply():
    mid = "tencent_0E2C4A6E8C0A2E4C6A8E0C2A4E6C8A0E2C01@qq.com"
    eml = qq(name="义马市科协", addr="12345@qq.com", subject="Re: 【三门峡市科协】投稿回执（编号 SMX-202611-0043）",
             mid=mid, when=(22, 10, 16), text="您好！邮件已收到，谢谢。",
             extra=("X-Autoreply: yes", f"In-Reply-To: {RECEIPT_MID}"))
    return eml, result("An automatic answer marked only by 'X-Autoreply: yes' (subject is a plain 'Re:')",
                       _not_submission("auto_reply", "12345@qq.com", mid), [])


@case
def auto_reply_precedence_bulk():
    mid = "vacation.20261122.114500.3391@mail.smzyhj.com"
    eml = entity([f"Date: {date(22, 11, 45)}", f"From: {word('中原黄金冶炼厂科协', 'UTF-8')} <kx@smzyhj.com>", TO,
                  f"Subject: {word('Re: 【三门峡市科协】投稿回执（编号 SMX-202611-0044）', 'UTF-8')}",
                  f"Message-ID: <{mid}>", f"In-Reply-To: {RECEIPT_MID}", "Precedence: bulk", "MIME-Version: 1.0",
                  "Content-Type: text/plain; charset=UTF-8", "Content-Transfer-Encoding: base64"],
                 b64("本人11月20日至11月30日外出学习，期间邮件不能及时回复，急事请致电0398-2821234。".encode()))
    return eml, result("A vacation answer from a company mail server, marked only by 'Precedence: bulk'",
                       _not_submission("auto_reply", "kx@smzyhj.com", mid), [])


@case
def bounce_dsn():
    b, mid = "7C1A22E0B3.1763795012/mail.smxnxh.org.cn", "20261122070332.7C1A22E0B3@mail.smxnxh.org.cn"
    notice = ("This is the mail system at host mail.smxnxh.org.cn.\n\nI'm sorry to have to inform you that your message "
              "could not\nbe delivered to one or more recipients. It's attached below.\n\n"
              '<liuwei@smxnxh.org.cn>: unknown user: "liuwei"\n')
    report = ("Reporting-MTA: dns; mail.smxnxh.org.cn\nX-Postfix-Queue-ID: 7C1A22E0B3\nX-Postfix-Sender: rfc822; "
              f"smxskx@163.com\nArrival-Date: {date(22, 15, 3, 30)}\n\nFinal-Recipient: rfc822; liuwei@smxnxh.org.cn\n"
              "Original-Recipient: rfc822;liuwei@smxnxh.org.cn\nAction: failed\nStatus: 5.1.1\n"
              'Diagnostic-Code: X-Postfix; unknown user: "liuwei"\n')
    eml = entity(["Return-Path: <>", f"Received: by mail.smxnxh.org.cn (Postfix)\n\tid 7C1A22E0B3; {date(22, 15, 3, 32)}",
                  f"Date: {date(22, 15, 3, 32)}", "From: MAILER-DAEMON@mail.smxnxh.org.cn (Mail Delivery System)",
                  "Subject: Undelivered Mail Returned to Sender", TO, "Auto-Submitted: auto-replied", "MIME-Version: 1.0",
                  f'Content-Type: multipart/report; report-type=delivery-status;\n\tboundary="{b}"',
                  "Content-Transfer-Encoding: 8bit", f"Message-Id: <{mid}>"],
                 multipart(b, [
                     entity(["Content-Description: Notification", "Content-Type: text/plain; charset=us-ascii"],
                            crlf(notice).encode()),
                     entity(["Content-Description: Delivery report", "Content-Type: message/delivery-status"],
                            crlf(report).encode()),
                     entity(["Content-Description: Undelivered Message Headers", "Content-Type: text/rfc822-headers",
                             "Content-Transfer-Encoding: 8bit"], RECEIPT.split(CRLF + CRLF)[0] + CRLF)],
                     preamble=b"This is a MIME-encapsulated message.\r\n"))
    return eml, result("Postfix DSN (multipart/report; report-type=delivery-status) from MAILER-DAEMON about a receipt",
                       _not_submission("bounce", None, mid), [])


@case
def bounce_163_postmaster():
    b, mid = "----=_Part_884512_1183407127.1763795049731", "5b1a8e94.2c3d.19a9b7f2e41.Coremail.postmaster@163.com"
    html = ('<div style="font-size:14px;"><p>很抱歉您发送的邮件被退回，以下是该邮件的相关信息：</p>'
            "<p>被退回邮件：【三门峡市科协】投稿回执（编号 SMX-202611-0045）<br>收件人：liuwei@smxnxh.org.cn</p>"
            "<p>退信原因：收件人邮箱地址不存在（550 5.1.1 User unknown）</p><p>建议：请核实收件人地址后重新发送。</p></div>")
    eml = entity([f"Date: {date(22, 15, 4, 9, cst_suffix=True)}", "From: Postmaster@163.com", TO,
                  f"Subject: {word('系统退信', 'UTF-8')}", f"Message-ID: <{mid}>", "MIME-Version: 1.0",
                  f'Content-Type: multipart/mixed; \n\tboundary="{b}"',
                  "X-Mailer: Coremail Webmail Server Version XT5.0.14 build 20230109(dcb5de15)"],
                 multipart(b, [entity(["Content-Type: text/html; charset=UTF-8", "Content-Transfer-Encoding: base64"],
                                      b64(html.encode())),
                               entity(["Content-Type: message/rfc822", "Content-Disposition: attachment"], RECEIPT)]))
    return eml, result("163 系统退信 from Postmaster@163.com (no DSN, no Auto-Submitted); the returned receipt is "
                       "attached as message/rfc822 and must not become a submission",
                       _not_submission("bounce", "postmaster@163.com", mid), [])


# --- 17-19: malformed, several documents, duplicate delivery ---------------------------------------------

@case
def malformed_mime():
    b = b"----=_NextPart_000_0005_01DB3C80.1A2B3C40"
    name = word("科普大篷车.docx", "gb2312").encode()
    bad_b64 = b64(article_docx(A.YIMA_WEIWEN))[:600].replace(b"A", b"!", 3) + b"\r\n====AAA\r\nQUJD*?\r\n"
    eml = b"".join([
        b"Received: from unknown (HELO pc-201911) ([123.52.17.203])\r\n",
        b"Date: 22 Nov 2026 16:20:11 +0800\r\n",
        b"From: =?gb2312?B?0uXC7crQv8bQrQ==?= <ymkx2009@126.com>\r\n",
        TO.encode() + CRLF,
        f"Subject: {word('【义马市科协】义马市科协开展科普大篷车巡展活动', 'gb2312')}\r\n".encode(),
        b"X-Mailer: Microsoft Outlook Express 6.00.2900.5512\r\nMIME-Version: 1.0\r\n",
        b'Content-Type: multipart/mixed;\r\n\tboundary="' + b + b'"; charset=\r\n',
        b"Message-ID: <000801db5c80$1a2b3c40$cb11 347b@pc201911>\r\n",
        b"X-Garbage-\x01\x7f: \xff\xfe\r\n",
        b"this line is not a header at all\r\nContent-Transfer-Encoding: 7bit\r\n\r\n",
        b"This is a multi-part message in MIME format.\r\n\r\n",
        b"--" + b + b'\r\nContent-Type: text/plain;\r\n\tcharset="gb2312"\r\nContent-Transfer-Encoding: base64\r\n\r\n',
        b64("市科协：附件是我单位信息，请查收。义马市科协".encode("gbk")) + CRLF,
        b"--" + b[:-1] + b'O\r\nContent-Type: image/jpeg; name="photo1.jpg"\r\nContent-Transfer-Encoding: base64\r\n\r\n',
        b64(JPEG) + CRLF,
        b"--" + b + b'\r\nContent-Type: application/msword; name="' + name + b'"\r\nContent-Transfer-Encoding: base64\r\n',
        b'Content-Disposition: attachment; filename="' + name + b'"\r\n\r\n',
        bad_b64,  # ...and no closing boundary
    ])
    return eml, result(
        "Malformed MIME: 'charset=' without value, a space in the Message-ID, control bytes in a header name, a "
        "non-header line inside the header block, a misspelt boundary, invalid base64, no closing boundary. "
        "Must neither crash nor be lost", {"disposition_in": ["submission", "quarantined"]}, [],
        submission_count=None, malformed=True)


@case
def multiple_documents():
    files = [("科技助农.docx", article_docx(A.MIANCHI_ZHUNONG, author="mckx"), DOCX_CT),
             ("安全用电科普宣传.docx", article_docx(A.MIANCHI_YONGDIAN, author="mckx"), DOCX_CT),
             ("11月工作简报.pdf", pdf(["渑池县科协2026年11月工作简报", "11月，县科协组织开展科技助农、安全用电宣传等活动6场。"]),
              "application/pdf"),
             ("科技模型竞赛总结.doc", legacy_doc("渑池县青少年科技模型竞赛总结"), "application/msword"),
             ("助农现场.jpg", JPEG, "image/jpeg"), ("宣传现场.png", png(), "image/png")]
    mid = "3f4e5d6.7a8b.19a8f2b3c4d.Coremail.mckx@126.com"
    eml = coremail(name="渑池县科协", addr="mckx@126.com", subject="【渑池县科协】11月份信息4篇", mid=mid, when=(23, 10, 30),
                   text="市科协：\n报送我县11月份信息4篇及照片2张，请审阅。", files=files)
    every = [expect(fn, data) for fn, data, _ in files]
    return eml, result(
        "Four documents (2 .docx, a .pdf, a legacy .doc that may be unreadable) and 2 photos (JPEG, PNG): one "
        "submission per document, each listing every file of the mail",
        submission("mckx@126.com", mid),
        [{"title": A.MIANCHI_ZHUNONG[0], "attachments": every}, {"title": A.MIANCHI_YONGDIAN[0], "attachments": every},
         {"attachments": every}, {"attachments": every}])


def _duplicate(received: str, second: bool):
    doc = article_docx(A.HUBIN_SHEQU, author="湖滨区科协")
    mid = "0c9d8e7.6f5a.19a8f3c4d5e.Coremail.hbqkx@163.com"
    eml = coremail(name="湖滨区科协", addr="hbqkx@163.com", subject="【湖滨区科协】" + A.HUBIN_SHEQU[0], mid=mid,
                   when=(22, 20, 10), text="请审阅。", files=[("科普进社区.docx", doc, DOCX_CT)], top=(received,))
    together = {"import_together": ["duplicate_delivery_a", "duplicate_delivery_b"]}
    if second:
        return eml, result("The same message delivered a second time (same Message-ID and body, another top Received:): "
                           "recorded as a duplicate, no new submission", _not_submission("duplicate", None, mid), [],
                           **together)
    return eml, result("First copy of a message delivered twice (see duplicate_delivery_b)", submission("hbqkx@163.com", mid),
                       [{"title": A.HUBIN_SHEQU[0], "attachments": [expect("科普进社区.docx", doc)]}], **together)


@case
def duplicate_delivery_a():
    return _duplicate("Received: from m16-45.mail.163.com (unknown [220.181.16.45])\n\tby mx21.mail.163.com (Coremail) "
                      f"with SMTP id _____wD3X8wJ2oBn4Q0AAA--.41279S2;\n\t{date(22, 20, 10, 28, cst_suffix=True)}", False)


@case
def duplicate_delivery_b():
    return _duplicate("Received: from m16-52.mail.163.com (unknown [220.181.16.52])\n\tby mx23.mail.163.com (Coremail) "
                      f"with SMTP id _____wA3bXwK5oBnyV4BAA--.17730S2;\n\t{date(22, 20, 14, 2, cst_suffix=True)}", True)


# --- 20: hostile and broken documents ---------------------------------------------------------------------

def _attachment(fn: str) -> str:
    return f"Content-Disposition: attachment; filename=\"{word(fn, 'UTF-8')}\""


@case
def docx_macro():
    macro = docm(article_docx(A.HUANGJIN_JIANGBI, author="zyhj"))
    disguised = docm(docx("中原黄金冶炼厂科协2026年工作总结", ["今年以来，厂科协围绕生产经营中心工作，组织开展技术攻关和科普活动。"]))
    mid = "macro.20261123110000.5e2f@smzyhj.com"
    eml = plain_mail(mid=mid, addr="kx@smzyhj.com", name="中原黄金冶炼厂科协", subject="【企业科协】信息两篇", attachments=[
        ("application/vnd.ms-word.document.macroEnabled.12", macro, _attachment("讲比活动.docm")),
        (DOCX_CT, disguised, _attachment("工作总结.docx"))])
    atts = [expect("讲比活动.docm", macro), expect("工作总结.docx", disguised)]
    return eml, result(
        "Macro documents: a .docm with word/vbaProject.bin, and a file named .docx whose [Content_Types].xml declares "
        "macroEnabled + vbaProject. Both are kept, both submissions flagged 'macro'",
        submission("kx@smzyhj.com", mid),
        [{"flags_include": ["macro"], "attachments": atts}, {"flags_include": ["macro"], "attachments": atts}])


@case
def docx_zip_bomb():
    bomb, subject = zip_bomb_docx(), "【渑池县科协】渑池县科协2026年科普工作总结"
    mid = "bomb.20261123110500.77a1@mckx.126.com"
    eml = plain_mail(mid=mid, addr="mckx@126.com", name="渑池县科协", subject=subject,
                     attachments=[(DOCX_CT, bomb, _attachment("科普工作总结.docx"))])
    return eml, result(
        "A .docx whose word/document.xml inflates to 1.1 GiB of zeros (~1 MB compressed), empty mail body. A "
        "submission: the file is kept, never fully inflated, flagged no_text; the title falls back to the subject",
        submission("mckx@126.com", mid),
        [{"subject": subject, "title": "渑池县科协2026年科普工作总结", "flags_include": ["no_text"],
          "attachments": [expect("科普工作总结.docx", bomb)]}])


@case
def docx_broken():
    broken = article_docx(A.LUSHI_KEPURI)[:3000]  # an interrupted upload: no central directory
    subject, mid = "转发: 【卢氏县科协】卢氏县科协召开第三次全委会议", "broken.20261123111000.0b3c@lsxkx.163.com"
    eml = plain_mail(mid=mid, addr="lsxkx@163.com", name="卢氏县科协", subject=subject,
                     attachments=[(DOCX_CT, broken, _attachment("全委会议.docx"))])
    return eml, result(
        "A .docx that is not a valid zip (truncated), empty mail body. A submission: the file is kept and flagged "
        "no_text; the title falls back to the subject without '转发:' and the unit prefix",
        submission("lsxkx@163.com", mid),
        [{"subject": subject, "title": "卢氏县科协召开第三次全委会议", "flags_include": ["no_text"],
          "attachments": [expect("全委会议.docx", broken)]}])


@case
def path_traversal_filename():
    doc1, doc2 = article_docx(A.HUBIN_SHEQU), article_docx(A.YIMA_WEIWEN)
    mid = "traversal.20261123111500.9d8c@hbqkx.163.com"
    eml = plain_mail(mid=mid, addr="hbqkx@163.com", name="湖滨区科协", subject="【湖滨区科协】信息两篇", text="请查收。",
                     attachments=[(DOCX_CT, doc1, 'Content-Disposition: attachment; filename="../../etc/passwd.docx"'),
                                  (DOCX_CT, doc2, ("Content-Disposition: attachment; "
                                                  "filename*=UTF-8''..%5C..%5Cwindows%5Cx.docx"))])
    atts = [expect(None, doc1, filename_endswith="passwd.docx"), expect(None, doc2, filename_endswith="x.docx")]
    return eml, result(
        "Attachment names '../../etc/passwd.docx' and '..\\..\\windows\\x.docx' (RFC 2231, so the backslashes "
        "survive): a submission per document, both files kept, nothing written outside the storage dir",
        submission("hbqkx@163.com", mid),
        [{"title": A.HUBIN_SHEQU[0], "attachments": atts}, {"title": A.YIMA_WEIWEN[0], "attachments": atts}])


# --- writing and self-check ---------------------------------------------------------------------------

def check(name: str, eml: bytes, exp: dict) -> None:
    """Catch generator mistakes: IMAP-safe bytes, and every expected file recoverable by the stdlib parser."""
    if exp["imap_ok"]:
        assert b"\x00" not in eml and b"\n" not in eml.replace(CRLF, b""), f"{name}: NUL or bare LF"
        assert max(len(line) for line in eml.split(CRLF)) <= 998, f"{name}: line over 998 octets"
    if exp.get("malformed"):
        return
    msg = email.message_from_bytes(eml, policy=email.policy.compat32)
    found = {hashlib.sha256(p.get_payload(decode=True) or b"").hexdigest() for p in msg.walk() if not p.is_multipart()}
    for sub in exp["submissions"]:
        for att in sub["attachments"]:
            assert att["sha256"] in found, f"{name}: {att.get('filename')} not recoverable"


def main(only: list[str], out: Path = HERE) -> None:
    unknown = set(only) - set(CASES)
    if unknown:
        sys.exit(f"unknown case(s): {', '.join(sorted(unknown))}")
    for name, build in CASES.items():
        if only and name not in only:
            continue
        eml, exp = build()
        check(name, eml, exp)
        (out / f"{name}.eml").write_bytes(eml)
        (out / f"{name}.json").write_text(json.dumps(exp, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"{name:36} {len(eml):>9} bytes")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--out"]:
        main(args[2:], Path(args[1]))
    else:
        main(args)
