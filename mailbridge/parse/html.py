"""HTML bodies: clean article text, and the download links of 163/QQ large attachments (超大附件)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import unescape

from mailbridge.parse import bounds

_BLOCK = {
    "p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote",
    "section", "article", "pre", "hr", "ul", "ol", "dd", "dt", "header", "footer",
}
_SKIP = {"script", "style", "head", "title", "noscript", "template", "xml", "o:p"}
# Hosts behind the expiring download links that webmail puts in the body instead of a MIME part.
# No `.*` here: an href of `http://mail.163.com/` x 6,000 made `mail\.163\.com/.*(?:download)`
# backtrack from every occurrence (quadratic); the webmail case is two linear searches instead.
_LARGE_HOSTS = re.compile(
    r"large-attachment|/ftn|ftnExs|bigatt|attachment[-_]?download|fs\.mail|dl\.126\.net|dashi\.163\.com",
    re.I,
)
_WEBMAIL = re.compile(r"mail\.(?:163|126)\.com/", re.I)
_WEBMAIL_FILE = re.compile(r"download|attach", re.I)
# Every repetition bounded: `\d+\s*天` on a long run of digits was quadratic.
_EXPIRY = re.compile(
    r"(\d{4}\s{0,3}年\s{0,3}\d{1,2}\s{0,3}月\s{0,3}\d{1,2}\s{0,3}日(?:\s{0,3}\d{1,2}:\d{2})?)\s{0,3}到期"
    r"|到期时间[:：]\s{0,3}(\S{1,40}(?:\s{1,3}\d{1,2}:\d{2})?|无限期)"
    r"|(\d{1,4}\s{0,3}天)后?(?:过期|到期)"
)
# 163's "推荐客户端极速下载" beside the file: an advert for its Mail Master client, not the file.
_CLIENT_PROMO = re.compile(r"bigattachMasterDownLoad|mailmaster", re.I)
_ACTION_WORDS = re.compile(r"下载|查看下载信息|进入下载页面|点击下载|download", re.I)
_MENTIONS_LARGE = re.compile(r"超大附件|到期|过期|中转站|large attachment", re.I)


_EXPIRY_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日(?:\s*(\d{1,2}):(\d{2}))?")
_EXPIRY_DAYS = re.compile(r"(\d{1,4})\s*天")


def expiry_words(expires: str, received: datetime) -> str:
    """A link's expiry as its reader writes it after "有效期至": "2026年9月24日 15:30".

    `expires` is what `large_links` found: a date (163 "2026年09月24日 15:30 到期", QQ
    "到期时间：…"), a count of days from arrival (`received`, local time: "30天后过期") or
    "无限期"; anything else is given as found, empty stays empty.
    """
    expires = (expires or "").strip()
    date = _EXPIRY_DATE.search(expires)
    if date:
        year, month, day, hour, minute = date.groups()
        words = f"{int(year)}年{int(month)}月{int(day)}日"
        return f"{words} {int(hour)}:{minute}" if hour else words
    days = _EXPIRY_DAYS.fullmatch(expires)
    if days and int(days.group(1)) <= 3650:
        end = received + timedelta(days=int(days.group(1)))
        return f"{end.year}年{end.month}月{end.day}日 {end.hour}:{end.minute:02d}"
    return expires


@dataclass
class LargeLink:
    url: str
    filename: str = ""
    expires: str = ""


@dataclass
class _Anchor:
    href: str
    attrs: dict[str, str]
    text: list[str] = field(default_factory=list)
    context: str = ""


class _Extractor:
    """What the text and link extraction needs of the markup, fed by `_tokenize`."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.skip = 0
        self.anchors: list[_Anchor] = []
        self.open_anchor: _Anchor | None = None
        self.titles: list[str] = []  # title= of QQ's div.bigatt_bt carries name, size and expiry

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        tag = tag.lower()
        if tag in _SKIP:
            self.skip += 1
            return
        if tag in _BLOCK:
            self.parts.append("\n")
        amap = {k.lower(): (v or "") for k, v in attrs}
        if "bigatt" in amap.get("class", "") and amap.get("title"):
            self.titles.append(amap["title"])
        if tag == "a" and amap.get("href"):
            self.open_anchor = _Anchor(amap["href"], amap, context=self._recent())
            self.anchors.append(self.open_anchor)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag.lower() in _SKIP:
            self.skip -= 1

    def handle_endtag(self, tag: str) -> None:
        tag = tag.lower()
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")
        if tag == "a":
            self.open_anchor = None

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        self.parts.append(data)
        if self.open_anchor is not None:
            self.open_anchor.text.append(data)

    def _recent(self) -> str:
        return "".join(self.parts[-20:])


def to_text(html: str) -> str:
    """Readable text of an HTML body: blocks become lines, spaces (and &nbsp;) are folded."""
    return _extract(html)[0]


def large_links(html: str) -> list[LargeLink]:
    return _extract(html)[1]


_last: tuple[str, int, tuple[str, list[LargeLink]]] | None = None  # to_text and large_links of one body


def _extract(html: str) -> tuple[str, list[LargeLink]]:
    """Text and links of an HTML body, read once for both calls; past the input cap it is cut."""
    global _last
    cap = bounds.current().max_input_chars
    if len(html) > cap:
        bounds.current().cut.add("body")
        html = html[:cap]
    last = _last  # one read of the global: another thread's parse may replace it meanwhile
    if last is None or last[1] != cap or last[0] != html:
        _last = last = (html, cap, _read(html))
    text, links = last[2]
    return text, [LargeLink(link.url, link.filename, link.expires) for link in links]


def _read(html: str) -> tuple[str, list[LargeLink]]:
    parser = _Extractor()
    _tokenize(html, parser)
    text = normalise("".join(parser.parts))
    full = text[: bounds.current().max_text_chars] + "\n" + "\n".join(parser.titles)
    links: list[LargeLink] = []
    mentions_large = bool(_MENTIONS_LARGE.search(full))
    for anchor in parser.anchors:
        href = anchor.href.strip()
        if not href.lower().startswith(("http://", "https://")):
            continue
        if not (_large_host(href) or ("download" in anchor.attrs and mentions_large)):
            continue
        if _CLIENT_PROMO.search(href) or _CLIENT_PROMO.search(anchor.attrs.get("class", "")):
            continue
        # 163 links one file three times (icon, name, 下载 with download=NAME): the name is the file's.
        name = (anchor.attrs.get("filename") or anchor.attrs.get("download")
                or normalise("".join(anchor.text)).replace("\n", " ")).strip()
        if _ACTION_WORDS.fullmatch(name):
            name = ""
        same = next((link for link in links if link.url == href), None)
        if same is not None:
            same.filename = same.filename or name
            continue
        links.append(LargeLink(url=href, filename=name))
    if links:
        expiries = [m.group(1) or m.group(2) or m.group(3) for m in _EXPIRY.finditer(full)]
        for i, link in enumerate(links):
            if expiries:
                link.expires = re.sub(r"\s+", " ", expiries[min(i, len(expiries) - 1)]).strip()
    return text, links


def _large_host(href: str) -> bool:
    if _LARGE_HOSTS.search(href):
        return True
    webmail = _WEBMAIL.search(href)
    return webmail is not None and _WEBMAIL_FILE.search(href, webmail.end()) is not None


# ---------------------------------------------------------------------------- the tokenizer
# The stdlib HTMLParser rescans from every `<` of an unterminated tag: `<a`, `<a x="` or `<!--`
# repeated took seconds per 10 KB and grew x4 per doubling. This tokenizer reads each character
# once: a tag ends at the first `>` outside a quoted value (as in the HTML5 tokenizer), a comment
# at `-->`, and searches only go forward (`_Forward`). A tag that never ends is text.
_NAME = re.compile(r"[^\s/>]*")
_GAP = re.compile(r"[\s/]*")
_ATTR = re.compile(r"=?[^\s/>=]*")
_EQUALS = re.compile(r"\s*=\s*")
_UNQUOTED = re.compile(r"[^\s>]*")
_SIMPLE_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]{0,15})>")
_GT, _COMMENT_END = re.compile(">"), re.compile("-->")
_QUOTE = {'"': re.compile('"'), "'": re.compile("'")}
_RAW_TEXT = {"script": re.compile(r"</script", re.I), "style": re.compile(r"</style", re.I)}


class _Forward:
    """`pattern.search(text, start)` remembered per pattern: for starts that only grow, every
    character is searched at most once per pattern."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.memo: dict[re.Pattern[str], tuple[int, int]] = {}

    def __call__(self, pattern: re.Pattern[str], start: int) -> int:
        since, found = self.memo.get(pattern, (-1, -1))
        if 0 <= since <= start and (found < 0 or found >= start):
            return found
        match = pattern.search(self.text, start)
        found = match.start() if match else -1
        self.memo[pattern] = (start, found)
        return found


def _tokenize(html: str, out: _Extractor) -> None:
    find, pos, n = _Forward(html), 0, len(html)
    while pos < n:
        lt = html.find("<", pos)  # forward from the last construct: each character read once
        if lt < 0:
            out.handle_data(unescape(html[pos:]))
            return
        if lt > pos:
            out.handle_data(unescape(html[pos:lt]))
        simple = _SIMPLE_TAG.match(html, lt)
        if simple:  # <p>, </b>, <br>: most tags, without the attribute loop
            slash, name = simple.groups()
            if slash:
                out.handle_endtag(name.lower())
            else:
                out.handle_starttag(name.lower(), [])
            pos = simple.end()
            if not slash and name.lower() in _RAW_TEXT:
                close = find(_RAW_TEXT[name.lower()], pos)
                pos = n if close < 0 else close
            continue
        after = html[lt + 1 : lt + 3]
        if html.startswith("<!--", lt):  # a comment (Outlook's conditional ones too) to its end
            end = find(_COMMENT_END, lt + 4)
            pos = n if end < 0 else end + 3
        elif after[:1] in ("!", "?"):  # doctype, CDATA, processing instruction: up to '>'
            end = find(_GT, lt)
            pos = n if end < 0 else end + 1
        elif after[:1] == "/" and after[1:2].isascii() and after[1:2].isalpha():
            end = find(_GT, lt)
            if end < 0:
                out.handle_data(unescape(html[lt:]))
                return
            out.handle_endtag(_NAME.match(html, lt + 2, end).group().lower())  # type: ignore[union-attr]  # `*`: always a match
            pos = end + 1
        elif after[:1].isascii() and after[:1].isalpha():
            end, name, attrs = _start_tag(html, lt, find)
            if end < 0:
                out.handle_data(unescape(html[lt:]))
                return
            pos = end + 1
            if html[end - 1] == "/":
                out.handle_startendtag(name, attrs)
                continue
            out.handle_starttag(name, attrs)
            if name in _RAW_TEXT:  # script and style hold text, not markup, up to their end tag
                close = find(_RAW_TEXT[name], pos)
                pos = n if close < 0 else close
        else:
            out.handle_data("<")
            pos = lt + 1


def _start_tag(html: str, lt: int, find: _Forward) -> tuple[int, str, list[tuple[str, str | None]]]:
    """(index of the closing '>', name, attributes) of the start tag at `lt`; -1 if it never ends."""
    name = _NAME.match(html, lt + 1)
    assert name is not None
    attrs: list[tuple[str, str | None]]
    pos, attrs = name.end(), []
    while True:
        pos = _GAP.match(html, pos).end()  # type: ignore[union-attr]  # `*`: always a match
        if pos >= len(html):
            return -1, "", []
        if html[pos] == ">":
            return pos, name.group().lower(), attrs
        key = _ATTR.match(html, pos)
        assert key is not None
        pos = key.end()
        equals = _EQUALS.match(html, pos)
        value: str | None = None
        if equals:
            pos = equals.end()
            quote = html[pos : pos + 1]
            if quote in _QUOTE:
                end = find(_QUOTE[quote], pos + 1)
                if end < 0:
                    return -1, "", []
                value, pos = html[pos + 1 : end], end + 1
            else:
                unquoted = _UNQUOTED.match(html, pos)
                assert unquoted is not None
                value, pos = unquoted.group(), unquoted.end()
            value = unescape(value)
        attrs.append((key.group().lower(), value))


_BLANK_RUN = re.compile(r"\n\s*\n")


def normalise(text: str) -> str:
    """Fold runs of spaces, drop blank lines at the ends, keep paragraph breaks. At most the
    parse's input cap of the text is read (an 80 MB plain body would be 80 MB of lines)."""
    if len(text) > (cap := bounds.current().max_input_chars):
        bounds.current().cut.add("text")
        text = text[:cap]
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ").replace("\u3000", " ")
    text = text.replace("\ufeff", "").replace("\u200b", "")  # byte-order marks, zero-width spaces
    # Runs of blank lines become one first, in C: 50 MB of empty lines were 50 s of the loop below.
    text = _BLANK_RUN.sub("\n\n", text)
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()
