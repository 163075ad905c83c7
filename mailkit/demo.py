"""Writes the bundled demo mailbox (`mailbridge/demo/mail/*.eml`) and officer roster (`roster.csv`).

Run `.venv/bin/python -m mailkit.demo [OUT]` after editing; the output is committed (it ships as
package data, this generator does not) and tests/test_generated_mail.py checks that a fresh run
reproduces it byte for byte. Everything is deterministic: fixed dates (September 2026),
Message-IDs and boundaries drawn from a seeded `random.Random(2026)`, .docx zip entries pinned to
the send date, images encoded by the kit (no PIL).

Headers are written by hand, not by the `email` package, because the point is to reproduce what
each client really sends: Coremail's GBK encoded-words, QQ Mail's encoded-word inside quotes,
Outlook's gb2312 label on GBK-only names and Q-encoded filenames folded across lines, iPhone's
split text/plain parts (see ../shared/FIELD-NOTES.md). The files use LF line ends, as Dovecot
stores a Maildir.
"""

from __future__ import annotations

import csv
import html
import quopri
import random
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mailkit.demo_data import ARTICLES, ROSTER
from mailkit.files import Doc
from mailkit.images import RGB
from mailkit.images import jpeg as jpeg_of
from mailkit.images import png as png_of
from mailkit.mime import ALNUM as ALNUM_BYTES
from mailkit.mime import (
    CRLF,
    CST,
    DOCX_CT,
    b64,
    date_header,
    entity,
    head,
    html_body,
    multipart,
    words,
)

DEMO = Path(__file__).resolve().parents[1] / "mailbridge" / "demo"
RNG = random.Random(2026)
OFFICIAL = "smxskx@163.com"
HEX, ALNUM = "0123456789ABCDEF", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
CTYPES = {"docx": DOCX_CT, "jpg": "image/jpeg", "png": "image/png"}

# ---------------------------------------------------------------- small encoders


def at(day: int, hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 9, day, hh, mm, ss, tzinfo=CST)


def date_hdr(dt: datetime, cst: bool = False) -> str:
    return date_header(dt, cst=cst, pad=False)  # clients write "Tue, 1 Sep 2026"


def hexs(n: int, digits: str = "0123456789abcdef") -> str:
    return "".join(RNG.choice(digits) for _ in range(n))


def guid() -> str:
    return "-".join(hexs(n, HEX) for n in (8, 4, 4, 4, 12))


def ew(text: str, charset: str, q: bool = False, sep: str = "\n\t") -> str:
    """RFC 2047 encoded-words of at most 75 characters, folded onto continuation lines."""
    return sep.join(words(text, charset, mode="Q" if q else "B", max_len=68 - len(charset),
                          safe=ALNUM_BYTES))


def leaf(ctype: str, payload: bytes, cte: str = "base64", extra: str = "") -> bytes:
    if cte == "base64":
        body = b64(payload)
    elif cte == "quoted-printable":
        body = quopri.encodestring(payload).replace(b"\n", CRLF)
    else:
        body = payload.replace(b"\n", CRLF)
    return entity([f"Content-Type: {ctype}", *([extra.rstrip("\n")] if extra else []),
                   f"Content-Transfer-Encoding: {cte}"], body)


def multi(subtype: str, boundary: str, parts: list[bytes], preamble: str = "",
          params: str = "") -> bytes:
    return entity([f'Content-Type: multipart/{subtype};{params}\n\tboundary="{boundary}"'],
                  multipart(boundary, parts, preamble=preamble.replace("\n", "\r\n").encode()))


def message(headers: list[str], body: bytes) -> bytes:
    return head(*headers) + body


def received(relay: str, ip: str, dt: datetime) -> str:
    """The hop that 163's MX adds on delivery: the top header of every stored message."""
    sid = f"{hexs(6, ALNUM + '_')}--.{RNG.randrange(10000, 99999)}S2"
    return (f"Received: from {relay} (unknown [{ip}])\n\tby mx{RNG.randrange(20, 46)}.163.com "
            f"(Coremail) with SMTP id {sid};\n\t{date_hdr(dt, cst=True)}")


# ---------------------------------------------------------------- images


def scene(cols: int, rows: int, kind: str) -> list[list[RGB]]:
    """A blocky 'photo': an outdoor banner event, a meeting hall, or a field under a sky."""
    noise = [[RNG.randrange(-25, 26) for _ in range(cols)] for _ in range(rows)]
    crowd = [(40, 40, 45), (200, 40, 40), (30, 80, 160), (230, 230, 230), (60, 120, 60)]

    def cell(c: int, r: int) -> tuple[int, int, int]:
        u, v, n = c / cols, r / rows, noise[r][c]
        if kind == "field":
            if v < 0.4:
                return (120 + int(80 * v), 170 + int(60 * v), 235)
            return (60 + n, 150 + n if r % 2 else 110 + n, 50)
        if kind == "hall":
            if 0.12 < v < 0.45 and 0.25 < u < 0.75:
                return (40, 90 + int(60 * u), 170)
            if v < 0.6:
                return (225 + n // 5, 210 + n // 5, 180)
            return (120 + n, 70 + n, 40) if r % 3 else (200, 200, 205)
        if 0.12 < v < 0.24 and 0.1 < u < 0.9:  # red banner with gold characters
            return (255, 215, 80) if c % 3 == 0 and 0.15 < v < 0.21 else (200, 25, 30)
        if v < 0.42:
            return (110 + int(90 * v), 165 + int(60 * v), 235)
        if v < 0.75:
            return crowd[(n + 25) % 5]
        return (150 + n, 150 + n, 145 + n)

    def clamp(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
        r, g, b = (max(0, min(255, x)) for x in rgb)
        return r, g, b

    return [[clamp(cell(c, r)) for c in range(cols)] for r in range(rows)]


def png(kind: str, w: int = 320, h: int = 240) -> bytes:
    grid = scene(w // 8, h // 8, kind)
    return png_of(w, h, lambda x, y: grid[y // 8][x // 8])


def jpeg(kind: str, w: int = 320, h: int = 240) -> bytes:
    return jpeg_of(scene(w // 8, h // 8, kind))


# ---------------------------------------------------------------- documents


def article_docx(key: str, author: str, dt: datetime, title_style: bool = False) -> bytes:
    """A .docx as units write them: a title (Title style or bold centred), 仿宋 body, tables."""
    title, paras = ARTICLES[key]
    d = Doc()
    if title_style:
        d.para(title, style="Title")
    else:
        d.para(title, centre=True, bold=True, size=22, font="方正小标宋简体")
    for item in paras:
        if isinstance(item, list):
            d.table(item)
            continue
        heading = re.match(r"^[一二三四五六七八九十]+、", item) is not None
        d.para(item, indent=32, size=16, bold=heading, font="黑体" if heading else "仿宋_GB2312")
    utc = dt.astimezone(UTC).replace(tzinfo=None)
    return d.save(author=author, created=utc - timedelta(hours=2), modified=utc - timedelta(minutes=20),
                  revision=3, zip_date=dt.timetuple()[:6])


def article_text(key: str) -> list[str]:
    title, paras = ARTICLES[key]
    return [title] + [p for p in paras if isinstance(p, str)]


# ---------------------------------------------------------------- client shapes

PREAMBLE = "This is a multi-part message in MIME format.\n"


def attachment(ctype: str, name: str, data: bytes, sep: str = " ", params: str = "") -> bytes:
    """An attachment carrying the same (encoded) name in name= and in filename=."""
    return leaf(f'{ctype};{sep}{params}name="{name}"', data,
                extra=f'Content-Disposition: attachment;{sep}filename="{name}"\n')


def ctype_of(filename: str) -> str:
    return CTYPES[filename.rsplit(".", 1)[1]]


def coremail(name: str, addr: str, subject: str, dt: datetime, note: list[str],
             files: list[tuple[str, bytes]] = (), inline: tuple[str, bytes] | None = None,
             html_extra: str = "", text_extra: tuple[str, ...] = (),
             server: str = "163com") -> bytes:
    """NetEase webmail (Coremail): GBK encoded-words, GBK base64 bodies, GBK file names."""
    def bnd() -> str:
        ms = int(dt.timestamp() * 1000)
        return f"----=_Part_{RNG.randrange(10**6, 10**7)}_{RNG.randrange(10**8, 10**9)}.{ms}"

    user, domain = addr.split("@")
    img = ""
    if inline:
        cid = f"{hexs(8)}$1${hexs(11)}$Coremail${user}${domain}"
        img = (f'<p><img src="cid:{cid}" orgwidth="320" orgheight="240" data-image="1" '
               'style="width: 320px; height: 240px; border: none;"></p>')
    entity = multi("alternative", bnd(), [
        leaf("text/plain; charset=GBK", "\n".join([*note, *text_extra]).encode("gbk")),
        leaf("text/html; charset=GBK", html_body(note, img + html_extra).encode("gbk"))])
    if inline:
        fname = ew(inline[0], "GBK")
        entity = multi("related", bnd(), [entity, leaf(
            f'image/jpeg; name="{fname}"', inline[1],
            extra=f'Content-ID: <{cid}>\nContent-Disposition: inline; filename="{fname}"\n')])
    if files:
        entity = multi("mixed", bnd(), [entity] + [
            attachment(ctype_of(fn), ew(fn, "GBK"), data) for fn, data in files])
    return message([
        f"Date: {date_hdr(dt, cst=True)}",
        f"From: {ew(name, 'GBK')} <{addr}>",
        f'To: "{OFFICIAL}" <{OFFICIAL}>',
        f"Subject: {ew(subject, 'GBK')}",
        "X-Priority: 3",
        ("X-Mailer: Coremail Webmail Server Version 2023.3-cmXT build 20240625(e2a8b9a5)"
         f"\n Copyright (c) 2002-2026 www.mailtech.cn {server}"),
        f"X-NTES-SC: AL_Qu2{hexs(40, ALNUM)}",
        "MIME-Version: 1.0",
        f"Message-ID: <{hexs(8)}.{hexs(4)}.{hexs(11)}.Coremail.{addr}>",
        "X-Coremail-Locale: zh_CN",
        f"X-CM-TRANSID: {hexs(20, ALNUM)}--.{RNG.randrange(1000, 9999)}W2",
        f"X-Originating-IP: [1.192.{RNG.randrange(1, 254)}.{RNG.randrange(1, 254)}]",
    ], entity)


def qqmail(nick: str, addr: str, subject: str, dt: datetime, note: list[str],
           files: list[tuple[str, bytes]]) -> bytes:
    """QQ Mail: a gb18030 encoded-word inside quotes, gb18030 bodies and attachment names."""
    def bnd() -> str:
        return "----=_NextPart_" + "_".join(hexs(8, HEX) for _ in range(3))

    alt = multi("alternative", bnd(), [
        leaf('text/plain;\n\tcharset="gb18030"', "\n".join(note).encode("gb18030")),
        leaf('text/html;\n\tcharset="gb18030"', html_body(note).encode("gb18030"))])
    atts = [attachment("application/octet-stream", ew(fn, "gb18030"), data, "\n\t",
                       'charset="gb18030";\n\t') for fn, data in files]
    return message([
        f'From: "{ew(nick, "gb18030", sep=" ")}" <{addr}>',  # quoted encoded-word: RFC 2047 §5
        f'To: "{OFFICIAL}" <{OFFICIAL}>',
        f"Subject: {ew(subject, 'gb18030')}",
        "Mime-Version: 1.0",
        f"Date: {date_hdr(dt)}",
        "X-Priority: 3",
        f"Message-ID: <tencent_{hexs(40, HEX)}@qq.com>",
        "X-QQ-MIME: TCMime 1.0 by Tencent",
        "X-Mailer: QQMail 2.x",
        "X-QQ-Mailer: QQMail 2.x",
    ], multi("mixed", bnd(), [alt] + atts, PREAMBLE))


def foxmail(name: str, addr: str, subject: str, dt: datetime, note: list[str],
            files: list[tuple[str, bytes]], version: str = "7.2.25.228[cn]") -> bytes:
    """Foxmail 7 in its UTF-8 mode; long names become several encoded-words."""
    def bnd(n: str) -> str:
        return f"----=_{n}_NextPart{RNG.randrange(10**11, 10**12)}_=----"

    alt = multi("alternative", bnd("002"), [
        leaf('text/plain;\n\tcharset="utf-8"', "\n".join(note).encode()),
        leaf('text/html;\n\tcharset="utf-8"', html_body(note).encode())])
    atts = [attachment("application/octet-stream", ew(fn, "utf-8"), data, "\n\t")
            for fn, data in files]
    return message([
        f"Date: {date_hdr(dt)}",
        f'From: "{ew(name, "utf-8")}" <{addr}>',
        f"To: smxskx <{OFFICIAL}>",
        f"Subject: {ew(subject, 'utf-8')}",
        "X-Priority: 3",
        f"X-GUID: {guid()}",
        "X-Has-Attach: yes",
        f"X-Mailer: Foxmail {version}",
        "Mime-Version: 1.0",
        f"Message-ID: <{dt:%Y%m%d%H%M%S}{RNG.randrange(10**7, 10**8)}@{addr.split('@')[1]}>",
    ], multi("mixed", bnd("001"), [alt] + atts, PREAMBLE))


def outlook(name: str, addr: str, subject: str, dt: datetime, note: list[str],
            files: list[tuple[str, bytes]]) -> bytes:
    """Outlook, Chinese locale: gb2312 labels on GBK bytes, Q-encoded names folded over lines."""
    stamp = f"01DB{hexs(4, HEX)}.{hexs(8, HEX)}"
    alt = multi("alternative", f"----=_NextPart_001_0002_{stamp}", [
        leaf('text/plain;\n\tcharset="gb2312"', "\n".join(note).encode("gbk")),
        leaf('text/html;\n\tcharset="gb2312"', html_body(note).encode("gbk"))])
    atts = [attachment(ctype_of(fn), ew(fn, "gb2312", q=True), data, "\n\t")
            for fn, data in files]
    return message([
        f"From: {ew(name, 'gb2312')} <{addr}>",
        f"To: <{OFFICIAL}>",
        f"Subject: {ew(subject, 'gb2312')}",
        f"Date: {date_hdr(dt)}",
        f"Message-ID: <000001db{hexs(4)}${hexs(8)}${hexs(8)}$@{addr.split('@')[1]}>",
        "MIME-Version: 1.0",
        "X-Mailer: Microsoft Outlook 16.0",
        f"Thread-Index: Ads{hexs(25, ALNUM)}==",
        "Content-Language: zh-cn",
    ], multi("mixed", f"----=_NextPart_000_0001_{stamp}", [alt] + atts,
             "This is a multipart message in MIME format.\n"))


def iphone(name: str, addr: str, subject: str, dt: datetime, text: str, photo: bytes) -> bytes:
    """iOS Mail: the article typed into the body, a photo, then the signature in its own part."""
    bnd = f"Apple-Mail-{guid()}"
    parts = [
        leaf("text/plain;\n\tcharset=utf-8", text.encode(), "quoted-printable"),
        leaf("image/jpeg;\n\tname=IMG_2831.jpeg", photo,
             extra="Content-Disposition: inline;\n\tfilename=IMG_2831.jpeg\n"),
        leaf("text/plain;\n\tcharset=utf-8", "\n\n发自我的iPhone\n".encode(), "quoted-printable"),
    ]
    return message([
        f"From: {ew(name, 'utf-8')} <{addr}>",
        "Mime-Version: 1.0 (1.0)",
        f"Date: {date_hdr(dt)}",
        f"Subject: {ew(subject, 'utf-8')}",
        f"Message-Id: <{bnd[11:]}@163.com>",
        f"To: {OFFICIAL}",
        "X-Mailer: iPhone Mail (22G86)",
        "Content-Transfer-Encoding: 7bit",
    ], multi("mixed", bnd, parts))


# ---------------------------------------------------------------- the mails, in arrival order


def m01() -> bytes:
    dt = at(1, 9, 12, 30)
    return coremail("杨晓红", "lsxkx@163.com", ARTICLES["A1"][0], dt,
                    ["市科协：", "报送信息一篇，图片两张，请审阅。", "", "杨晓红", "卢氏县科协"],
                    [("卢氏县科协-科普大篷车走进官道口镇中心小学.docx", article_docx("A1", "杨晓红", dt)),
                     ("IMG_20260901_093512.jpg", jpeg("banner")),
                     ("IMG_20260901_094027.jpg", jpeg("banner"))])


def m02() -> bytes:
    dt = at(1, 16, 5, 21)
    return foxmail("张丽", "lbskx@126.com", "灵宝市科协信息两篇（9月1日）", dt,
                   ["您好！", "附件为灵宝市科协信息两篇及配图，请查收。", "", "张丽", "灵宝市科协"],
                   [("灵宝市苹果科技小院开展秋季果园管理技术培训.docx", article_docx("B1", "张丽", dt, True)),
                    ("灵宝市科协召开基层科协三长工作座谈会.docx", article_docx("B2", "赵鹏", dt, True)),
                    ("培训现场.jpg", jpeg("field")), ("座谈会.jpg", jpeg("hall"))])


def m03() -> bytes:
    dt = at(2, 10, 20, 4)
    return qqmail("渑池科协-王建军", "2856471930@qq.com", ARTICLES["C1"][0], dt,
                  ["市科协调宣部：", "报送信息一篇，请审核。", "渑池县科协 王建军"],
                  [(ARTICLES["C1"][0] + ".docx", article_docx("C1", "Administrator", dt)),
                   ("微信图片_20260901183015.jpg", jpeg("field"))])


def m04() -> bytes:
    dt = at(2, 15, 47, 12)
    return outlook("王喆", "wangzhe@zyhjyl.com.cn", "报送信息：" + ARTICLES["D1"][0], dt,
                   ["市科协：", "    现报送我厂院士专家工作站技术攻关交流活动信息一篇，请审阅。", "",
                    "王喆", "河南中原黄金冶炼厂科协办公室", "电话：0398-2916385  手机：13839885214"],
                   [("中原黄金冶炼厂院士专家工作站技术攻关交流活动.docx", article_docx("D1", "王喆", dt, True)),
                    ("交流会现场.jpg", jpeg("hall"))])


def m05() -> bytes:
    text = "\n\n".join(article_text("E1")) + "\n\n义马市科协 陈静"
    return iphone("陈静", "ymskx@163.com", ARTICLES["E1"][0], at(3, 8, 31, 5), text, jpeg("banner"))


def m07() -> bytes:
    """The article typed into the HTML body, a pasted photo as an inline cid image."""
    return coremail("杨晓红", "lsxkx@163.com", "【卢氏县科协】" + ARTICLES["A2"][0], at(4, 11, 2, 40),
                    article_text("A2")[1:] + ["", "杨晓红", "卢氏县科协"],
                    inline=("培训现场.jpg", jpeg("field")))


def m08() -> bytes:
    """The corrected version of m03, two days later, from the officer's other address."""
    dt = at(4, 17, 40, 9)
    return coremail("渑池县科协", "mcxkx@163.com", ARTICLES["C2"][0] + "（修改稿，以此为准）", dt,
                    ["市科协：", "9月2日报送的丹参科技小院信息有两处数据错误，现发修改稿，以此稿为准。",
                     "王建军"],
                    [(ARTICLES["C2"][0] + "（修改稿）.docx", article_docx("C2", "Administrator", dt)),
                     ("微信图片_20260901183015.jpg", jpeg("field"))])


def m09() -> bytes:
    dt, title = at(7, 9, 15, 33), ARTICLES["F1"][0]
    forwarded = ["-------- 转发邮件信息 --------", '发件人："张湾乡科协" <zwxkx2020@163.com>',
                 "发送日期：2026-09-06 18:22:10", '收件人："陕州区科协" <szqkx2019@163.com>',
                 f"主题：{title}", "", "陕州区科协：", "报送我乡9月份信息一篇，请审阅。", "张湾乡科协"]
    return coremail("刘洋", "szqkx2019@163.com", "转发:" + title, dt,
                    ["请审阅。", "刘洋", "陕州区科协", "", ""] + forwarded,
                    [("张湾乡科协开展科技助农志愿服务活动.docx", article_docx("F1", "zwx", at(6, 18, 0))),
                     ("1.jpg", jpeg("field")), ("2.jpg", jpeg("banner"))])


def m10() -> bytes:
    dt = at(8, 14, 22, 50)
    return coremail("马超", "kx@smxpt.edu.cn", "三门峡职业技术学院科协9月信息2篇", dt,
                    ["市科协调宣部：", "报送我院9月份信息2篇，请审阅。", "", "马超", "三门峡职业技术学院科协"],
                    [("大学生科技创新大赛.docx", article_docx("G1", "马超", dt)),
                     ("科普进校园志愿服务.docx", article_docx("G2", "周婷", dt, True)),
                     ("科技创新大赛决赛现场.png", png("hall"))], server="smxpt.edu.cn")


def m11() -> bytes:
    dt = at(9, 10, 5, 2)
    return coremail("韩冬", "smxkxxhb@163.com", ARTICLES["H1"][0], dt,
                    ["调宣部：", "学术年会通知请在官网通知公告栏目发布。", "学会部 韩冬"],
                    [(ARTICLES["H1"][0] + ".docx", article_docx("H1", "韩冬", dt))])


def m12() -> bytes:
    """A 163 超大附件: no MIME part, only a download link that expires."""
    dt, name = at(9, 15, 30, 18), "三门峡市医学会2026年学术年会稿件及图片.zip"
    link = ("https://mail.163.com/large-attachment-download/index.html"
            f"?p=X-NETEASE-HUGE-ATTACHMENT.{hexs(32)}&file={hexs(20)}")
    expiry = "（86.4M，2026年9月24日 15:30 到期）"
    box = ('<div style="clear:both;height:36px;"></div>'
           '<div style="padding:10px;border:1px solid #d3d3d3;">'
           '<div style="font-weight:bold;">从网易163邮箱发来的超大附件</div><div style="padding:6px 0;">'
           f'<a download="{html.escape(name)}" href="{html.escape(link)}" target="_blank">'
           f'{html.escape(name)}</a><span style="color:#888;">{expiry}</span></div></div>')
    return coremail("郭敏", "smxyxh@163.com", "三门峡市医学会2026年学术年会稿件及图片（超大附件）", dt,
                    ["市科协：", "我会学术年会的新闻稿和会议图片较大，用超大附件发送，请在到期前下载。", "郭敏"],
                    html_extra=box,
                    text_extra=("", "从网易163邮箱发来的超大附件", name + expiry, f"下载地址：{link}"))


def m13() -> bytes:
    dt = at(10, 9, 50, 41)
    return coremail("何雪", "smxkxkpb@163.com", ARTICLES["I1"][0], dt,
                    ["调宣部：", "科普部调研报告一篇，请审阅。", "何雪", "三门峡市科协科普部"],
                    [(ARTICLES["I1"][0] + ".docx", article_docx("I1", "何雪", dt))])


def m14() -> bytes:
    dt = at(11, 20, 13, 27)
    return qqmail("清风徐来", "1047753826@qq.com", "投稿：" + ARTICLES["S1"][0], dt,
                  ["您好！", "我是湖滨区实验小学的科学老师，附件是我校科技节的新闻稿，请审阅，谢谢！",
                   "李老师"],
                  [("科技节新闻稿.docx", article_docx("S1", "lenovo", dt, True)),
                   ("科技节开幕式.jpg", jpeg("banner"))])


REMINDER = "<mailbridge.remind.202609.{}@smxskx.163.com>"  # the 催报 sent on 14 Sep at 07:59


def m15() -> bytes:
    """A holiday auto-reply to the reminder."""
    dt = at(14, 8, 0, 12)
    text = ("您好，您的邮件我已收到。我于9月14日至20日外出学习，返回后将尽快处理。"
            "急事请致电0398-2836512。\n\n高峰\n三门峡市农学会")
    return message([
        f"Date: {date_hdr(dt, cst=True)}",
        "From: smxnxh@126.com",
        f"To: {OFFICIAL}",
        f"Subject: {ew('自动回复: 关于报送9月份信息的提醒', 'GBK')}",
        f"Message-ID: <{hexs(8)}.{hexs(4)}.{hexs(11)}.Coremail.smxnxh@126.com>",
        f"In-Reply-To: {REMINDER.format('smxnxh')}",
        "Auto-Submitted: auto-replied",
        "X-Mailer: Coremail Autoreply",
        "MIME-Version: 1.0",
    ], leaf("text/plain; charset=GBK", text.encode("gbk")))


def m16() -> bytes:
    """163 系统退信: the reminder to 湖滨区科协 bounced, the roster address no longer exists."""
    dt, sent = at(14, 8, 0, 31), at(14, 7, 59, 58)
    text = ("抱歉，您的邮件被退回来了……\n\n原邮件信息：\n时  间：2026-09-14 07:59:58\n"
            "主  题：关于报送9月份信息的提醒\n收件人：hbqkx@163.com\n\n"
            "退信原因：收件人邮箱地址不存在，或者该邮箱已被注销。\n"
            "550 User not found: hbqkx@163.com\n")
    status = (f"Reporting-MTA: dns; 163.com\nArrival-Date: {date_hdr(sent)}\n\n"
              "Final-Recipient: rfc822; hbqkx@163.com\nAction: failed\nStatus: 5.1.1\n"
              "Diagnostic-Code: smtp; 550 User not found: hbqkx@163.com\n")
    original = (f"Date: {date_hdr(sent)}\n"
                f"From: {ew('三门峡市科协信息宣传', 'utf-8')} <{OFFICIAL}>\nTo: hbqkx@163.com\n"
                f"Subject: {ew('关于报送9月份信息的提醒', 'utf-8')}\n"
                f"Message-ID: {REMINDER.format('hbqkx')}\n"
                "Auto-Submitted: auto-generated\nMIME-Version: 1.0\n")
    parts = [leaf("text/plain; charset=GBK", text.encode("gbk")),
             leaf("message/delivery-status", status.encode(), "7bit"),
             leaf("text/rfc822-headers", original.encode(), "7bit")]
    return message([
        "Return-Path: <>",
        f"Date: {date_hdr(dt, cst=True)}",
        "From: postmaster@163.com",
        f"To: {OFFICIAL}",
        f"Subject: {ew('系统退信', 'GBK')}",
        f"Message-ID: <{hexs(8)}.{hexs(6)}.{hexs(11)}.bounce@163.com>",
        "MIME-Version: 1.0",
    ], multi("report", f"----=_Part_{RNG.randrange(10**6, 10**7)}_bounce.{int(dt.timestamp())}",
             parts, params=" report-type=delivery-status;"))


def m17() -> bytes:
    dt = at(15, 10, 30, 6)
    return foxmail("何雪", "smxkxkpb@163.com", ARTICLES["I2"][0], dt,
                   ["调宣部：", "全国科普日启动仪式信息，请审阅。", "何雪", "三门峡市科协科普部"],
                   [(ARTICLES["I2"][0] + ".docx", article_docx("I2", "何雪", dt, True)),
                    ("启动仪式.jpg", jpeg("banner")), ("互动展区.png", png("banner"))],
                   version="7.2.23.121[cn]")


# ---------------------------------------------------------------- delivery, roster, articles

# (file name, builder, relay that handed the mail to 163's MX, its IP, seconds in transit)
SCHEDULE = [
    ("01-lushi-coremail-docx-photos.eml", m01, "m16.mail.163.com", "220.181.16.87", 3),
    ("02-lingbao-foxmail-two-docx.eml", m02, "m15.mail.126.com", "220.181.15.113", 4),
    ("03-mianchi-qqmail.eml", m03, "out203-205-221-235.mail.qq.com", "203.205.221.235", 2),
    ("04-zhongyuan-gold-outlook-gb2312.eml", m04, "mail.zyhjyl.com.cn", "222.88.94.36", 6),
    ("05-yima-iphone-body-only.eml", m05, "m16.mail.163.com", "220.181.16.62", 2),
    ("06-yima-iphone-delivered-twice.eml", "05", "m16.mail.163.com", "220.181.16.71", 317),
    ("07-lushi-html-body-inline-image.eml", m07, "m16.mail.163.com", "220.181.16.90", 2),
    ("08-mianchi-resubmission.eml", m08, "m16.mail.163.com", "220.181.16.54", 3),
    ("09-shanzhou-forward.eml", m09, "m16.mail.163.com", "220.181.16.77", 2),
    ("10-smxpt-university-two-docx.eml", m10, "mail.smxpt.edu.cn", "202.196.48.12", 5),
    ("11-xuehuibu-notice.eml", m11, "m16.mail.163.com", "220.181.16.83", 2),
    ("12-yixuehui-large-attachment-link.eml", m12, "m16.mail.163.com", "220.181.16.58", 3),
    ("13-kepubu-research-report.eml", m13, "m16.mail.163.com", "220.181.16.95", 2),
    ("14-stranger-qqmail.eml", m14, "out162-62-57-87.mail.qq.com", "162.62.57.87", 3),
    ("15-nongxuehui-auto-reply.eml", m15, "m15.mail.126.com", "220.181.15.140", 2),
    ("16-postmaster-bounce.eml", m16, "localhost", "127.0.0.1", 0),
    ("17-kepubu-foxmail-kepuri.eml", m17, "m16.mail.163.com", "220.181.16.66", 4),
]

def main(target: Path = DEMO) -> None:
    RNG.seed(2026)  # every run draws the same ids and boundaries, also a second one in one process
    out = target / "mail"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.eml"):
        old.unlink()
    built: dict[str, tuple[bytes, datetime]] = {}
    for name, build, relay, ip, transit in SCHEDULE:
        key = name[:2]
        if isinstance(build, str):  # the same message handed over a second time by the relay
            text, sent = built[build]
        else:
            text = build()
            date = re.search(r"^Date: (.*?)( \(CST\))?\r$", text.decode("ascii"), re.MULTILINE)[1]
            sent = datetime.strptime(date,
                                     "%a, %d %b %Y %H:%M:%S %z")
        built[key] = (text, sent)
        top = received(relay, ip, sent + timedelta(seconds=transit))
        (out / name).write_bytes((head(top) + text).replace(CRLF, b"\n"))
    with open(target / "roster.csv", "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["单位（部门）", "姓名", "联系电话", "电子信箱", "单位类型"])
        writer.writerows(ROSTER)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEMO)
