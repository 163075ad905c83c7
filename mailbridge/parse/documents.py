"""Article text out of documents: .docx by lxml, .doc/.wps/.pdf/.rtf by a real tool if present.

Everything is bounded (issue 10): zip members are inflated in chunks and counted as they come
(`zipread`), the main part of a .docx is streamed (a 31 KB file of 20 MB of `<w:p/>` took 752 MB
as one tree) and may expand to at most `_xml_cap()`, the text kept is capped at the parse's
`max_text_chars` (flag `truncated`), and the converters share one time budget per message and
have their output capped (`converters`).
"""
from __future__ import annotations

import logging
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mailbridge.parse import bounds, charsets, converters, zipread
from mailbridge.parse.html import normalise

if TYPE_CHECKING:  # lxml is imported where a .docx is read (start-up time)
    from lxml.etree import _Element

log = logging.getLogger(__name__)

DOCUMENT_EXTENSIONS = {".docx", ".docm", ".doc", ".wps", ".pdf", ".txt", ".rtf", ".odt", ".dotx"}
_ZIP_FORMATS = {".docx", ".docm", ".dotx", ".odt"}
_TOOL_TIMEOUT = 120  # seconds for one converter at most; less when the message's budget is spent
_MAX_XML = 32 * 1024 * 1024  # what the main XML part of a document may inflate to (at the default text cap)
_MAX_SMALL_PART = 4 * 1024 * 1024
_MAX_ELEMENTS = 2_000_000  # paragraphs, runs and rows read: a 300-page report has ~100,000
_PER_TEXT_CHAR = 32  # bytes of XML, and 2 elements, per character of ingest.max_text_chars raise both caps
_MANY_RUNS = 10_000  # children of one paragraph held before its runs so far are read and dropped  # [Content_Types].xml, _rels/.rels, word/styles.xml
_BLANK_LINES = re.compile(r"\n\s*\n")
_NONBLANK, _NONBLANK_BYTES = re.compile(r"[^\s\x00]"), re.compile(rb"[^\s\x00]")
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_W_BODY, _W_P, _W_R, _W_TBL, _W_TR, _W_TC = (f"{_W}body", f"{_W}p", f"{_W}r", f"{_W}tbl", f"{_W}tr", f"{_W}tc")
_W_T, _W_TAB, _W_BR, _W_PPR, _W_PSTYLE, _W_VAL = f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}pPr", f"{_W}pStyle", f"{_W}val"


@dataclass
class DocText:
    """What a document yielded: its title line, its paragraphs without the title, and flags."""

    title: str = ""
    paragraphs: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    problem: str | None = None  # a plain sentence for the receipt, e.g. why no text came out

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


def is_document(filename: str) -> bool:
    return Path(filename.lower()).suffix in DOCUMENT_EXTENSIONS


def extract(filename: str, data: bytes, max_expanded: int) -> DocText:
    """Never raises for a bad document: it comes back flagged, with the reason in `problem`."""
    suffix = Path(filename.lower()).suffix
    try:
        if suffix in _ZIP_FORMATS:
            result = _zip_document(suffix, data, max_expanded)
        elif suffix == ".txt":
            result = _from_text(data)
        elif suffix == ".pdf":
            result = _tool_text(["pdftotext", "-enc", "UTF-8", "{in}", "-"], suffix, data)
        else:  # .doc .wps .rtf: Word 97 binaries (WPS writes the same format) and RTF
            result = _binary_office(suffix, data)
    except zipread.TooBig:
        result = DocText(flags={"no_text", "zip_bomb"}, problem="the file expands to too much data and was not read")
    except Exception as exc:  # a hostile or broken file must not stop the mail
        # ...but a bug of ours must not hide behind the flag: the traceback goes to the log.
        log.warning("document %r could not be read; flagged unreadable", filename, exc_info=exc)
        result = DocText(flags={"no_text", "unreadable"}, problem=f"document could not be read ({type(exc).__name__})")
    if suffix in (".doc", ".wps") and _ole_has_macros(data):
        result.flags.add("macro")
    _cap(result, bounds.current().max_text_chars)
    if not result.paragraphs and not result.title:
        result.flags.add("no_text")
    return result


def _cap(result: DocText, cap: int) -> None:
    """Keep at most `cap` characters of text (the paragraphs and the line breaks between them);
    flag `truncated` when some were dropped."""
    left = cap
    for index, paragraph in enumerate(result.paragraphs):
        if len(paragraph) > left:
            result.paragraphs[index:] = [paragraph[:left]] if left > 0 else []
            result.flags.add("truncated")
            return
        left -= len(paragraph) + 1


def _zip_document(suffix: str, data: bytes, max_expanded: int) -> DocText:
    try:
        archive = zipread.open_zip(data)
    except zipfile.BadZipFile:
        return DocText(flags={"no_text", "unreadable"}, problem="the file is damaged (not a valid document)")
    with archive:
        infos = archive.infolist()
        names = {i.filename.lower() for i in infos}
        flags: set[str] = set()
        content_types = ""
        if "[content_types].xml" in names:
            content_types = zipread.read_member(archive, "[Content_Types].xml", _MAX_SMALL_PART).decode("utf-8", "replace")
        if suffix == ".docm" or any(n.endswith("vbaproject.bin") for n in names) or "macroEnabled" in content_types:
            flags.add("macro")
        expanded = sum(i.file_size for i in infos)
        if expanded > max_expanded or len(infos) > 10_000:
            # A declared zip bomb; one that lies about its sizes is stopped while it inflates.
            return DocText(
                flags=flags | {"no_text", "zip_bomb"},
                problem=f"the file expands to {expanded // 1_000_000} MB and was not opened",
            )
        try:
            result = _odt(archive) if suffix == ".odt" else _docx(archive, _xml_cap(max_expanded))
        except zipread.TooBig:
            result = DocText(flags={"no_text", "zip_bomb"}, problem="the file expands to too much data and was not read")
    result.flags |= flags
    return result


def _xml_cap(max_expanded: int) -> int:
    """What a document's main XML part may inflate to: more text allowed, more XML."""
    return min(max_expanded, max(_MAX_XML, _PER_TEXT_CHAR * bounds.current().max_text_chars))


def _docx(archive: zipfile.ZipFile, max_xml: int) -> DocText:
    """Paragraphs and tables of the main document part, in body order, streamed.

    Each paragraph or table row of the body is read when its end tag arrives, then dropped, so
    memory holds one of them at a time; styles.xml is read only when a leading paragraph names a
    style (the title may be the one styled as a heading).
    """
    from lxml import etree  # imported here: lxml costs start-up time other commands skip

    cap = bounds.current().max_text_chars
    elements = max(_MAX_ELEMENTS, 2 * cap)
    paragraphs: list[tuple[str, str]] = []  # (text, style id) in body order, tables included
    chars, truncated, seen_body = 0, False, False
    pieces: list[str]
    long_p, pieces, long_style = None, [], ""  # a body paragraph of many runs, read as it goes
    counted, runs = None, 0  # the runs ended so far in the paragraph `counted`
    with zipread.Member(archive, _main_part(archive), max_xml) as source:
        events = etree.iterparse(source, events=("end",), tag=(_W_P, _W_TBL, _W_TR, _W_BODY, _W_R),
                                 resolve_entities=False, no_network=True, load_dtd=False)
        try:
            for count, (_, element) in enumerate(events):
                if count >= elements:
                    truncated = True
                    break
                tag, parent = element.tag, element.getparent()
                if tag == _W_BODY:
                    seen_body = True
                    continue
                if parent is None:
                    continue
                if tag == _W_R:
                    if counted is not parent:  # (len() of an lxml element walks its children)
                        counted, runs = parent, 0
                    runs += 1
                    if runs >= _MANY_RUNS and _in_body(parent, _W_P):
                        # Read the runs so far and drop them: one paragraph of millions of
                        # `<w:r/>` would otherwise be one tree of gigabytes.
                        if long_p is not parent:
                            long_p, pieces, long_style = parent, [], _style_id(parent)
                        runs = 0
                        pieces.append(_ptext(parent))
                        chars += len(pieces[-1])
                        element.clear()
                        while (before := element.getprevious()) is not None and before.tag != _W_PPR:
                            parent.remove(before)
                    continue
                if tag == _W_P and parent.tag == _W_BODY:
                    if len(element):  # `<w:p/>` (a blank line) has nothing to read
                        text = _ptext(element)
                        style = _style_id(element)
                        if long_p is element:
                            text, style, long_p = "".join(pieces) + text, long_style, None
                        if text.strip():
                            paragraphs.append((text, style))
                            chars += len(text)
                elif tag == _W_TR and _in_body(parent, _W_TBL):
                    for row in _rows(element):
                        paragraphs.append(row)
                        chars += len(row[0])
                elif not (tag == _W_TBL and parent.tag == _W_BODY):
                    continue  # a paragraph of a table or a text box: read with its row
                _drop_read(element, parent)
                if chars > cap:
                    truncated = True
                    break
        except etree.XMLSyntaxError as exc:
            return DocText(flags={"no_text", "unreadable"}, problem=f"the document could not be opened ({type(exc).__name__})")
        seen_body = seen_body or bool(paragraphs) or truncated
    if not seen_body:
        return DocText(flags={"no_text", "unreadable"}, problem="the document has no body")
    result = _titled(paragraphs, archive)
    if truncated:
        result.flags.add("truncated")
    return result


def _in_body(element: _Element, tag: str) -> bool:
    """`element` is a `tag` that is a child of the body: a row's table, a run's paragraph
    (nested tables come with their row, a text box's paragraphs with their own)."""
    body = element.getparent()
    return element.tag == tag and body is not None and body.tag == _W_BODY


def _rows(row: _Element) -> list[tuple[str, str]]:
    """A body table's row, and the rows of tables nested in it, as lines of their cells' text."""
    lines = []
    for tr in row.iter(_W_TR):
        cells = [" ".join(_ptext(p) for p in tc.iter(_W_P)).strip() for tc in tr.iter(_W_TC)]
        line = " ".join(c for c in _dedupe(cells) if c)
        if line:
            lines.append((line, "table"))
    return lines


def _drop_read(element: _Element, parent: _Element) -> None:
    """Free what has been read: the element's content and the siblings before it."""
    element.clear()
    while element.getprevious() is not None:
        del parent[0]


def _titled(paragraphs: list[tuple[str, str]], archive: zipfile.ZipFile) -> DocText:
    nonempty = [(t.strip(), s) for t, s in paragraphs if t.strip()]
    styles = _style_names(archive) if any(s and s != "table" for _, s in nonempty[:3]) else {}
    nonempty = [(t, s if s == "table" else styles.get(s) or s) for t, s in nonempty]
    title = ""
    for index, (text, style) in enumerate(nonempty[:3]):
        if re.match(r"(title|heading|标题)", style, re.I) and style != "table":
            title = text
            del nonempty[index]
            break
    else:
        if nonempty and nonempty[0][1] != "table":
            title = nonempty.pop(0)[0]
    return DocText(title=title, paragraphs=[normalise(t) for t, _ in nonempty])


def _main_part(archive: zipfile.ZipFile) -> str:
    """The main document's name, from the package relationships (almost always word/document.xml)."""
    try:
        rels = zipread.read_member(archive, "_rels/.rels", _MAX_SMALL_PART).decode("utf-8", "replace")
        found = re.search(r'Target="/?([^"]+)"[^>]*Type="[^"]*/officeDocument"', rels) or re.search(
            r'Type="[^"]*/officeDocument"[^>]*Target="/?([^"]+)"', rels)
        if found and found.group(1) in archive.namelist():
            return found.group(1)
    except KeyError:
        pass
    return "word/document.xml"


def _style_names(archive: zipfile.ZipFile) -> dict[str, str]:
    from docx.oxml import parse_xml
    from docx.oxml.ns import qn

    try:
        root = parse_xml(zipread.read_member(archive, "word/styles.xml", _MAX_SMALL_PART))
    except (KeyError, zipread.TooBig):
        return {}
    names = {}
    for style in root.iter(qn("w:style")):
        name = style.find(qn("w:name"))
        names[style.get(qn("w:styleId")) or ""] = name.get(qn("w:val")) if name is not None else ""
    return names


def _ptext(p: _Element) -> str:
    out = []
    for node in p.iter(_W_T, _W_TAB, _W_BR):
        out.append((node.text or "") if node.tag == _W_T else " ")
    return "".join(out)


def _style_id(p: _Element) -> str:
    ppr = p.find(_W_PPR)
    style = ppr.find(_W_PSTYLE) if ppr is not None else None
    return (style.get(_W_VAL) or "") if style is not None else ""


def _dedupe(cells: list[str]) -> list[str]:
    # Merged cells repeat their text in every grid cell they span.
    out: list[str] = []
    for cell in cells:
        if not out or out[-1] != cell:
            out.append(cell)
    return out


def _odt(archive: zipfile.ZipFile) -> DocText:
    from xml.etree import ElementTree

    root = ElementTree.fromstring(zipread.read_member(archive, "content.xml", _xml_cap(_MAX_XML)))
    text_ns = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
    lines = ["".join(el.itertext()) for el in root.iter() if el.tag in (text_ns + "p", text_ns + "h")]
    return _from_lines(lines)


def _from_lines(lines: list[str]) -> DocText:
    cleaned = [normalise(line) for line in lines]
    cleaned = [line for line in cleaned if line]
    if not cleaned:
        return DocText()
    return DocText(title=cleaned[0], paragraphs=cleaned[1:])


def _from_text(data: bytes, label: str | None = None) -> DocText:
    """Lines of a plain text, at most the parse's input cap of it (then flagged `truncated`).
    Runs of blank lines become one line break first, in C: 50 MB of empty lines took 50 s."""
    limit = bounds.current().max_input_chars
    head = _whole_characters(data[:limit]) if len(data) >= limit else data
    text = charsets.decode(head, label).replace("\f", "\n")
    result = _from_lines(_BLANK_LINES.sub("\n", text[:limit]).splitlines())
    if _NONBLANK_BYTES.search(data, limit) or _NONBLANK.search(text, limit):  # more than blank lines were cut
        result.flags.add("truncated")
    return result


def _whole_characters(head: bytes) -> bytes:
    """`head` without a UTF-8 sequence the cut split: half a character makes the text fail to
    decode as UTF-8, and the charset guess then goes wrong for all of it."""
    for back in range(1, min(4, len(head)) + 1):
        byte = head[-back]
        if byte < 0x80:
            return head
        if byte >= 0xC0:  # the lead byte: complete if its sequence fits in what is left
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return head if back >= need else head[:-back]
    return head


def _binary_office(suffix: str, data: bytes) -> DocText:
    tried = None
    if suffix in (".doc", ".wps") and shutil.which("antiword"):
        tried = _tool_text(["antiword", "-m", "UTF-8.txt", "-w", "0", "{in}"], suffix, data)
        if tried.paragraphs or tried.title:
            return tried
    office = shutil.which("soffice") or shutil.which("libreoffice")
    # LibreOffice imports anything it does not recognise as plain text: random bytes named .doc
    # would come back as an "article" of mojibake. It gets only what looks like an office file.
    if office and _office_signature(data):
        return _soffice_text(office, suffix, data)
    if tried:
        return tried
    if office:
        return DocText(flags={"no_text", "unreadable"}, problem="the file is damaged (not a Word, WPS or RTF document)")
    return DocText(flags={"no_text"}, problem="no tool on this server reads this format; the file is kept")


_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Word 97-2003 and WPS binaries (OLE compound file)
# Word also saves web pages and RTF under .doc; those LibreOffice reads for what they are.
_OTHER_SIGNATURES = (b"{\\rtf", b"<html", b"<!doctype html", b"mime-version:", b"<?xml")


def _office_signature(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return data.startswith(_OLE) or head.startswith(_OTHER_SIGNATURES)


def _tool_text(argv: list[str], suffix: str, data: bytes) -> DocText:
    if not shutil.which(argv[0]):
        return DocText(flags={"no_text"}, problem=f"{argv[0]} is not installed; the file is kept")
    seconds = bounds.current().converter_seconds(_TOOL_TIMEOUT)
    if seconds <= 0:
        return DocText(flags={"no_text"}, problem=f"no time was left to read this file with {argv[0]}")
    with tempfile.TemporaryDirectory(prefix="mailbridge-doc-") as tmp:
        source = Path(tmp) / f"input{suffix}"  # never the sender's file name
        source.write_bytes(data)
        argv = [str(source) if a == "{in}" else a for a in argv]
        done = converters.run(argv, seconds, bounds.current().max_input_chars, cwd=Path(tmp))
    if done.timed_out:
        return DocText(flags={"no_text"}, problem=f"{argv[0]} took too long on this file")
    if done.returncode not in (0, None):
        return DocText(flags={"no_text", "unreadable"}, problem=f"{argv[0]} could not read the file")
    result = _from_text(done.output, "utf-8")
    if done.truncated:
        result.flags.add("truncated")
    return result


def _soffice_text(office: str, suffix: str, data: bytes) -> DocText:
    seconds = bounds.current().converter_seconds(_TOOL_TIMEOUT)
    if seconds <= 0:
        return DocText(flags={"no_text"}, problem="no time was left to read this file with LibreOffice")
    with tempfile.TemporaryDirectory(prefix="mailbridge-soffice-") as tmp:
        source = Path(tmp) / f"input{suffix}"
        source.write_bytes(data)
        argv = [office, f"-env:UserInstallation=file://{tmp}/profile", "--headless",
                "--convert-to", "txt:Text (encoded):UTF8", "--outdir", tmp, str(source)]
        done = converters.run(argv, seconds, 1024 * 1024, cwd=Path(tmp))
        if done.timed_out:
            return DocText(flags={"no_text"}, problem="LibreOffice took too long on this file")
        out = Path(tmp) / "input.txt"
        if not out.exists():
            return DocText(flags={"no_text", "unreadable"}, problem="LibreOffice could not read the file")
        with out.open("rb") as text:  # bounded: the converted file may be anything
            return _from_text(text.read(bounds.current().max_input_chars + 1), "utf-8")


def _ole_has_macros(data: bytes) -> bool:
    # Word 97 keeps VBA in an OLE storage named "Macros" holding "_VBA_PROJECT"; names are UTF-16.
    return data.startswith(_OLE) and (
        "_VBA_PROJECT".encode("utf-16-le") in data or b"_VBA_PROJECT" in data
    )
