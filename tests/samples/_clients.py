"""The message shapes of the mail clients units use, written byte for byte (see FIELD-NOTES.md)."""
from __future__ import annotations

import datetime as dt
import hashlib

from mailkit.mime import CST, b64, date_header, entity, html_body, multipart, word, words

TO = "To: smxskx@163.com"


def date(day: int, hh: int, mm: int, ss: int = 0, *, cst_suffix: bool = False) -> str:
    """RFC 5322 date in November 2026, China time (Coremail appends ' (CST)')."""
    return date_header(dt.datetime(2026, 11, day, hh, mm, ss, tzinfo=CST), cst=cst_suffix)


def tag(mid: str) -> str:
    """Hex digits derived from the Message-ID: stable boundaries and ids, no randomness."""
    return hashlib.md5(mid.encode()).hexdigest()


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


def html_of(text: str) -> str:
    """The HTML part Coremail webmail writes beside the text part."""
    return html_body(text.split("\n"), empty="<br>", escape=False)  # Coremail copies "<" as is


# 超大附件 blocks as the webmails insert them into the HTML body (expiring links, no MIME part).
NETEASE_BIG = (
    '<div style="clear:both;height:36px;"></div><div id="divNeteaseBigAttach" style="padding:4px">'
    '<div><b style="font-size:14px;">从网易163邮箱发来的超大附件</b> <a class="bigattach-mailmaster-download" '
    'href="http://u.163.com/RcUwvU56g?spm=pos.free_webmail_1.composePage.0.0.bigattachMasterDownLoad">推荐客户端极速下载</a>'
    '</div><div style="border:1px solid #e5e5e5;padding:8px;"><div style="float:left;width:36px"><a href="{url}">'
    '<img src="https://mimg.127.net/xm/all/fj/ico-bfile-8.gif" border="0"></a></div><div><div>'
    '<a href="{url}" style="color:#000;text-decoration:none;">{name}</a><span style="color:#bbb"> ({size}, {expiry} 到期)'
    '</span></div><div><a download="{name}" href="{url}" target="_blank">下载</a></div></div></div></div>')

QQ_BIG = (
    '<div style="padding:10px 0;font-size:12px;"><div style="background:#efefef;padding:6px 10px;"><b>从QQ邮箱发来的超大附件'
    '</b></div><div title="{name}&#10;&#13;文件大小：{size}&#10;&#13;到期时间：{expiry}" class="bigatt_bt">'
    '<div style="float:left;margin:2px 8px 0 0;"><a target="_blank" href="{url}"><img border="0" '
    'src="http://res.mail.qq.com/zh_CN/htmledition/images/fj/fu_rar.gif"/></a></div><div class="name_big">'
    '<span class="qqmailbgattach" expiretime="1797939600" downloadlink="{url}"><a style="color:#000;text-decoration:none;" '
    'target="_blank" href="{url}">{name}</a><span style="color:#A0A0A0;"> ({size}, {expiry} 到期)</span></span>'
    '<div class="down_big"><a target="_blank" href="{url}">查看下载信息</a><span style="display:none;">：{url}</span>'
    '</div></div></div></div>')


def coremail(*, name: str, addr: str, subject: str, text: str, mid: str, when: tuple[int, int, int],
             files: list[tuple[str, bytes, str]] = (), html: str | None = None,
             top: tuple[str, ...] = (), extra: tuple[str, ...] = ()) -> bytes:
    """NetEase 163/126 webmail (Coremail): GBK encoded-words (Subject folded), GBK base64 text and HTML,
    attachment names as GBK encoded-words in both name= and filename=. files: (name, data, type)."""
    t = tag(mid)
    stamp = f"1763{int(t[12:20], 16) % 10**9:09d}"
    outer = f"----=_Part_{int(t[:5], 16)}_{int(t[5:12], 16)}.{stamp}"
    inner = f"----=_Part_{int(t[21:26], 16)}_{int(t[26:32], 16)}.{stamp}"
    alt = multipart(inner, [
        entity(["Content-Type: text/plain; charset=GBK", "Content-Transfer-Encoding: base64"],
               b64(crlf(text).encode("gbk"))),
        entity(["Content-Type: text/html; charset=GBK", "Content-Transfer-Encoding: base64"],
               b64((html or html_of(text)).encode("gbk"))),
    ])
    parts = [entity([f'Content-Type: {ctype}; \n\tname="{word(fn, "GBK")}"',
                     "Content-Transfer-Encoding: base64",
                     f'Content-Disposition: attachment; \n\tfilename="{word(fn, "GBK")}"'], b64(data))
             for fn, data, ctype in files]
    if parts:
        ctype = f'multipart/mixed; \n\tboundary="{outer}"'
        body = multipart(outer, [entity([f'Content-Type: multipart/alternative; \n\tboundary="{inner}"'], alt)] + parts)
    else:
        ctype, body = f'multipart/alternative; \n\tboundary="{inner}"', alt
    day, hh, mm = when
    ip = f"171.8.172.{int(t[:2], 16) % 200 + 20}"
    sent = date(day, hh, mm, 27, cst_suffix=True)
    return entity([
        *top,
        f"Received: from {addr.replace('@', '$')} ( [{ip}] ) by ajax-webmail-wmsvr-40-112\n (Coremail) ; {sent}",
        f"X-Originating-IP: [{ip}]",
        f"Date: {sent}",
        f'From: "{word(name, "GBK")}" <{addr}>',
        TO,
        "Subject: " + "\n ".join(words(subject, "GBK", max_bytes=45)),
        "X-Priority: 3",
        *extra,
        ("X-Mailer: Coremail Webmail Server Version XT5.0.14 build 20230109(dcb5de15)\n"
        " Copyright (c) 2002-2026 www.mailtech.cn 163com"),
        f"Content-Type: {ctype}",
        "MIME-Version: 1.0",
        f"Message-ID: <{mid}>",
        "X-Coremail-Locale: zh_CN",
        f"X-CM-TRANSID:{t[:22]}_",
        "X-Coremail-Antispam: 1U5529EdanIXcx71UUUUU7vcSsGvfC2KfnxnUU==",
    ], body)


def qq(*, name: str, addr: str, subject: str, text: str, mid: str, when: tuple[int, int, int],
       files: list[tuple[str, bytes]] = (), html: str | None = None, extra: tuple[str, ...] = ()) -> bytes:
    """QQ Mail: gb18030 encoded-words, the From one inside quotes (forbidden by RFC 2047, sent anyway);
    attachments as application/octet-stream with charset="gb18030" and encoded-word names."""
    t = tag(mid).upper()
    outer = f"----=_NextPart_{t[:8]}_{t[8:16]}_{t[16:24]}"
    inner = f"----=_NextPart_{t[:8]}_{t[8:16]}_{t[24:32]}"
    alt = multipart(inner, [
        entity(['Content-Type: text/plain;\n\tcharset="gb18030"', "Content-Transfer-Encoding: base64"],
               b64(crlf(text).encode("gb18030"))),
        entity(['Content-Type: text/html;\n\tcharset="gb18030"', "Content-Transfer-Encoding: base64"],
               b64((html or html_of(text)).encode("gb18030"))),
    ])
    parts = [entity([f'Content-Type: application/octet-stream;\n\tcharset="gb18030";\n\tname="{word(fn, "gb18030")}"',
                     f'Content-Disposition: attachment; filename="{word(fn, "gb18030")}"',
                     "Content-Transfer-Encoding: base64"], b64(data))
             for fn, data in files]
    if parts:
        ctype = f'multipart/mixed;\n\tboundary="{outer}"'
        body = multipart(outer, [entity([f'Content-Type: multipart/alternative;\n\tboundary="{inner}"'], alt)] + parts,
                         preamble=b"This is a multi-part message in MIME format.\r\n")
    else:
        ctype, body = f'multipart/alternative;\n\tboundary="{inner}"', alt
    day, hh, mm = when
    return entity([
        f"X-QQ-mid: xmsezb{t[:4].lower()}t17637{t[4:9].lower()}t{t[9:17].lower()}",
        "X-QQ-SSF: 00000000000000F000000000000000Z",
        f'From: "{word(name, "gb18030")}" <{addr}>',
        f'To: "{word("三门峡市科协", "gb18030")}" <smxskx@163.com>',
        f"Subject: {word(subject, 'gb18030')}",
        "Mime-Version: 1.0",
        f"Content-Type: {ctype}",
        "Content-Transfer-Encoding: 8Bit",
        f"Date: {date(day, hh, mm, 12)}",
        "X-Priority: 3",
        f"Message-ID: <{mid}>",
        *extra,
        "X-QQ-MIME: TCMime 1.0 by Tencent",
        "X-Mailer: QQMail 2.x",
        "X-QQ-Mailer: QQMail 2.x",
    ], body)


def plain_mail(*, mid: str, addr: str, name: str, subject: str, text: str = "",
               attachments: list[tuple[str, bytes, str]] = ()) -> bytes:
    """A minimal UTF-8 multipart mail; attachments are (Content-Type value, data, Content-Disposition line)."""
    b = f"=_{tag(mid)[:20]}"
    parts = [entity(["Content-Type: text/plain; charset=UTF-8", "Content-Transfer-Encoding: base64"], b64(text.encode()))]
    parts += [entity([f"Content-Type: {ctype}", "Content-Transfer-Encoding: base64", disposition], b64(data))
              for ctype, data, disposition in attachments]
    return entity([
        f"Date: {date(23, 11, 0)}",
        f'From: "{word(name, "UTF-8")}" <{addr}>',
        TO,
        f"Subject: {word(subject, 'UTF-8')}",
        f"Message-ID: <{mid}>",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{b}"',
    ], multipart(b, parts))
