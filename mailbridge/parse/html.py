"""HTML bodies: clean article text, and the download links of 163/QQ large attachments (超大附件)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_BLOCK = {
    "p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote",
    "section", "article", "pre", "hr", "ul", "ol", "dd", "dt", "header", "footer",
}
_SKIP = {"script", "style", "head", "title", "noscript", "template", "xml", "o:p"}
# Hosts behind the expiring download links that webmail puts in the body instead of a MIME part.
_LARGE_HOSTS = re.compile(
    r"(large-attachment|/ftn|ftnExs|bigatt|attachment[-_]?download|fs\.mail|dl\.126\.net|"
    r"dashi\.163\.com|mail\.163\.com/.*(?:download|attach)|mail\.126\.com/.*(?:download|attach))",
    re.I,
)
_EXPIRY = re.compile(
    r"(\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日(?:\s*\d{1,2}:\d{2})?)\s*到期"
    r"|到期时间[:：]\s*(\S+(?:\s+\d{1,2}:\d{2})?|无限期)"
    r"|(\d+\s*天)后?(?:过期|到期)"
)


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


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
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


def _extract(html: str) -> tuple[str, list[LargeLink]]:
    parser = _Extractor()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):  # malformed markup: keep what was read
        pass
    text = normalise("".join(parser.parts))
    full = text + "\n" + "\n".join(parser.titles)
    links: list[LargeLink] = []
    mentions_large = bool(re.search(r"超大附件|到期|过期|中转站|large attachment", full, re.I))
    for anchor in parser.anchors:
        href = anchor.href.strip()
        if not href.lower().startswith(("http://", "https://")):
            continue
        if not (_LARGE_HOSTS.search(href) or ("download" in anchor.attrs and mentions_large)):
            continue
        name = anchor.attrs.get("filename") or normalise("".join(anchor.text)).replace("\n", " ")
        if any(link.url == href for link in links):
            continue
        links.append(LargeLink(url=href, filename=name.strip()))
    if links:
        expiries = [m.group(1) or m.group(2) or m.group(3) for m in _EXPIRY.finditer(full)]
        for i, link in enumerate(links):
            if expiries:
                link.expires = re.sub(r"\s+", " ", expiries[min(i, len(expiries) - 1)]).strip()
    return text, links


def normalise(text: str) -> str:
    """Fold runs of spaces, drop blank lines at the ends, keep paragraph breaks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ").replace("\u3000", " ")
    text = text.replace("\ufeff", "").replace("\u200b", "")  # byte-order marks, zero-width spaces
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()
