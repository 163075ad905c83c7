"""Parser units: headers, payload bytes, bodies, large-attachment links, documents, articles."""
from __future__ import annotations

import base64
import binascii
import hashlib
import io
import quopri
import zipfile

import docx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbridge.parse import charsets, hollow
from mailbridge.parse.article import articles, clean_subject, count_chars
from mailbridge.parse.documents import extract
from mailbridge.parse.headers import decode_address, decode_param, decode_text
from mailbridge.parse.html import large_links, to_text
from mailbridge.parse.mime import content_hash, parse

MB = 1024 * 1024


def b64word(text: str, charset: str) -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


@pytest.mark.parametrize("label", ["gb2312", "GB2312", "x-gbk", "windows-936", "cp936", "eucgb2312_cn", "GBK"])
def test_gb_family_decodes_gbk_only_names(label: str) -> None:
    data = "关于朱镕基、王喆、李堃、张玥的报告".encode("gbk")
    assert charsets.decode(data, label) == "关于朱镕基、王喆、李堃、张玥的报告"


def test_big5_family_and_unknown_labels() -> None:
    assert charsets.decode("香港科學館".encode("big5hkscs"), "cn-big5") == "香港科學館"
    assert charsets.decode("卢氏县".encode("gbk"), "unknown-8bit") == "卢氏县"
    assert charsets.decode("卢氏县".encode(), "us-ascii") == "卢氏县"


def test_character_split_across_encoded_words() -> None:
    data = "价格399元".encode("gbk")
    cut = len("价格399".encode("gbk")) + 1  # inside 元
    words = [f"=?gbk?B?{base64.b64encode(part).decode()}?=" for part in (data[:cut], data[cut:])]
    assert decode_text(" ".join(words)) == "价格399元"
    utf = "科普进校园".encode()
    words = [f"=?utf-8?B?{base64.b64encode(part).decode()}?=" for part in (utf[:4], utf[4:])]
    assert decode_text("\r\n ".join(words)) == "科普进校园"


def test_encoded_word_inside_quotes_qq() -> None:
    name, addr = decode_address(f'"{b64word("卢氏县科协", "gb18030")}" <LSXKX@QQ.com>')
    assert (name, addr) == ("卢氏县科协", "lsxkx@qq.com")


def test_raw_8bit_gbk_header() -> None:
    raw = "撤回：科普活动".encode("gbk").decode("ascii", "surrogateescape")
    assert decode_text(raw) == "撤回：科普活动"


def test_rfc2231_parameters() -> None:
    assert decode_param(("utf-8", "", "科协信息.docx".encode().decode("latin-1"))) == "科协信息.docx"
    assert decode_param(("gb2312", "zh", "通知.docx".encode("gbk").decode("latin-1"))) == "通知.docx"


def _mail(parts: list[bytes]) -> bytes:
    head = (b"From: =?utf-8?B?" + base64.b64encode("卢氏县科协".encode()) + b"?= <lsxkx@163.com>\r\n"
            b"To: smxskx@163.com\r\nSubject: test\r\nMessage-ID: <t1@163.com>\r\n"
            b"Date: Mon, 2 Sep 2024 10:00:00 +0800\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"BB\"\r\n\r\n")
    body = b"".join(b"--BB\r\n" + p + b"\r\n" for p in parts) + b"--BB--\r\n"
    return head + body


@pytest.mark.parametrize("cte", ["base64", "quoted-printable", "7bit", "8bit", "binary"])
def test_attachment_bytes_are_the_sent_bytes(cte: str) -> None:
    if cte == "7bit":
        payload = b"plain ascii text\r\nsecond line\r\n"
    elif cte == "binary":
        payload = bytes(range(1, 256)).replace(b"\r", b"").replace(b"\n", b"") * 3
    else:
        payload = "第一行 text\r\n第二行 €\r\n".encode("gbk", "replace") + bytes(range(0x80, 0x100))
    encoded = {"base64": base64.encodebytes, "quoted-printable": quopri.encodestring}.get(cte, lambda b: b)(payload)
    part = (b"Content-Type: application/octet-stream; name=\"f.bin\"\r\n"
            b"Content-Disposition: attachment; filename=\"f.bin\"\r\n"
            b"Content-Transfer-Encoding: " + cte.encode() + b"\r\n\r\n" + encoded)
    mail = parse(_mail([b"Content-Type: text/plain; charset=utf-8\r\n\r\nhello", part]))
    [att] = mail.parts
    assert att.data == payload
    assert att.sha256 == hashlib.sha256(payload).hexdigest()


def test_filename_never_a_path() -> None:
    part = (b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; "
            b"filename=\"../../etc/passwd.docx\"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA")
    part2 = part.replace(b"../../etc/passwd.docx", b"..\\\\..\\\\windows\\\\x.docx")
    mail = parse(_mail([part, part2]))
    assert [p.filename for p in mail.parts] == ["passwd.docx", "x.docx"]


def test_duplicate_hash_ignores_transport_headers() -> None:
    raw = _mail([b"Content-Type: text/plain\r\n\r\nhi"])
    again = b"Received: from mx2 by mx3; Tue, 3 Sep 2024 10:00:00 +0800\r\n" + raw
    assert content_hash(raw, "<a@b>") == content_hash(again, "<a@b>")
    assert content_hash(raw, "<a@b>") != content_hash(raw, "<other@b>")


def test_html_text_and_163_large_attachment() -> None:
    html = """<html><head><style>p{color:red}</style></head><body><p>第一段&nbsp;内容</p><br>
    <div>第二段</div>
    <div style="clear:both;height:36px;padding:6px 4px;"><a download filename="活动视频.mp4"
      href="https://mail.163.com/large-attachment-download/index.html?p=X&amp;file=Y">活动视频.mp4</a>
      <span style="color:#bbb;">(312.5M, 2026年12月07日 12:00到期)</span></div>
    <div>发自网易邮箱大师</div></body></html>"""
    assert [line for line in to_text(html).splitlines() if line][:2] == ["第一段 内容", "第二段"]
    [link] = large_links(html)
    assert link.filename == "活动视频.mp4"
    assert link.url.startswith("https://mail.163.com/large-attachment-download/")
    assert link.expires == "2026年12月07日 12:00"


def test_qq_large_attachment() -> None:
    html = ('<div class="bigatt_bt" title="汇报材料.zip\r\n文件大小：95.2M\r\n到期时间：2026年12月20日 10:30">'
            '<a href="https://mail.qq.com/cgi-bin/ftnExs_download?k=abc&amp;t=exs_ftn_download">下载</a></div>')
    [link] = large_links(html)
    assert "ftnExs_download" in link.url and link.expires == "2026年12月20日 10:30"


def test_ordinary_links_are_not_large_attachments() -> None:
    assert large_links('<p>详见 <a href="https://www.cast.org.cn/news/1.html">中国科协网</a></p>') == []


def _docx(paragraphs: list[tuple[str, str | None]], table: list[list[str]] | None = None) -> bytes:
    document = docx.Document()
    for text, style in paragraphs:
        document.add_paragraph(text, style=style)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_docx_title_and_text_with_table() -> None:
    data = _docx([("", None), ("卢氏县科协开展科普进校园活动", "Title"), ("9月2日，活动在卢氏一中举行。", None)],
                 table=[["项目", "人数"], ["讲座", "300"]])
    got = extract("信息.docx", data, 200 * MB)
    assert got.title == "卢氏县科协开展科普进校园活动"
    assert got.paragraphs == ["9月2日，活动在卢氏一中举行。", "项目 人数", "讲座 300"]
    assert not got.flags


def test_docx_hostile_and_broken() -> None:
    assert {"no_text", "unreadable"} <= extract("坏.docx", b"PK\x03\x04 not a zip", 200 * MB).flags
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"\0" * (30 * MB))
    got = extract("炸弹.docx", bomb.getvalue(), 10 * MB)
    assert {"zip_bomb", "no_text"} <= got.flags and got.problem
    macro = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_docx([("标题", None), ("正文", None)]))) as src, \
            zipfile.ZipFile(macro, "w") as out:
        for item in src.infolist():
            out.writestr(item, src.read(item.filename))
        out.writestr("word/vbaProject.bin", b"VBA")
    got = extract("宏.docm", macro.getvalue(), 200 * MB)
    assert "macro" in got.flags and got.title == "标题"


def test_txt_and_unknown_binary_document() -> None:
    got = extract("稿件.txt", "标题行\r\n\r\n正文 第一段\r\n".encode("gbk"), 200 * MB)
    assert (got.title, got.text) == ("标题行", "正文 第一段")
    assert "no_text" in extract("稿件.wps", b"\xd0\xcf\x11\xe0garbage", 200 * MB).flags


def test_subject_prefixes_removed() -> None:
    assert clean_subject("转发: Fw: 【渑池县科协】渑池县举办科普讲座") == "渑池县举办科普讲座"
    assert clean_subject("卢氏县科协：卢氏县开展科技下乡") == "卢氏县开展科技下乡"
    assert clean_subject("回复：关于报送信息的通知") == "关于报送信息的通知"


def test_body_article_title_chars_and_signature() -> None:
    raw = ("From: a@163.com\r\nSubject: =?utf-8?B?" + base64.b64encode("【卢氏县科协】开展科普活动".encode()).decode()
           + "?=\r\nMessage-ID: <b@1>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           "开展科普活动\r\n\r\n9月2日 卢氏县 开展活动。\r\n\r\n发自网易邮箱大师\r\n").encode()
    [draft] = articles(parse(raw), 200 * MB)
    assert draft.title == "开展科普活动"
    assert draft.text == "9月2日 卢氏县 开展活动。"
    assert draft.body_chars == count_chars("9月2日卢氏县开展活动。") == 12


@given(st.lists(st.sampled_from([b"QUJD" * 19 + b"\r\n", b"QUJD" * 5, b"\r\n", b" ", b"=", b"\xff", b"--b\r\n",
                                 b"Content-Type: image/png\r\n\r\n"]), max_size=60))
def test_base64_runs_are_the_regex_runs(pieces: list[bytes]) -> None:
    raw = b"".join(pieces)
    assert list(hollow.base64_runs(raw)) == [m.span() for m in hollow.BASE64_RUN.finditer(raw)]


@given(st.lists(st.sampled_from([b"QUJD", b"QUI", b"QQ", b"Q", b"/+9z", b"\r\n", b"\n", b"\r", b"="]), max_size=40),
       st.lists(st.sampled_from([b"=", b"\r\n", b"\n"]), max_size=6))
def test_fast_base64_decodes_exactly_as_the_stdlib(body: list[bytes], tail: list[bytes]) -> None:
    raw = b"headers\r\n\r\n" + b"".join(body + tail) + b"\r\n--b--"
    start, end = len(b"headers\r\n\r\n"), len(raw) - len(b"\r\n--b--")
    try:
        expected: bytes | type[Exception] = binascii.a2b_base64(raw[start:end])
    except binascii.Error:
        expected = binascii.Error
    try:
        got: bytes | type[Exception] = hollow.unbase64(raw, start, end)
    except binascii.Error:
        got = binascii.Error
    assert got == expected
