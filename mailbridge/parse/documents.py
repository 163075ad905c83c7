"""Article text out of documents: .docx by python-docx, .doc/.wps/.pdf/.rtf by a real tool if present."""
from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from mailbridge.parse import charsets
from mailbridge.parse.html import normalise

DOCUMENT_EXTENSIONS = {".docx", ".docm", ".doc", ".wps", ".pdf", ".txt", ".rtf", ".odt", ".dotx"}
_ZIP_FORMATS = {".docx", ".docm", ".dotx", ".odt"}
_TOOL_TIMEOUT = 120


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
            result = _from_lines(charsets.decode(data).splitlines())
        elif suffix == ".pdf":
            result = _tool_text(["pdftotext", "-enc", "UTF-8", "{in}", "-"], suffix, data)
        else:  # .doc .wps .rtf: Word 97 binaries (WPS writes the same format) and RTF
            result = _binary_office(suffix, data)
    except Exception as exc:  # a hostile or broken file must not stop the mail
        result = DocText(flags={"no_text", "unreadable"}, problem=f"document could not be read ({type(exc).__name__})")
    if suffix in (".doc", ".wps") and _ole_has_macros(data):
        result.flags.add("macro")
    if not result.paragraphs and not result.title:
        result.flags.add("no_text")
    return result


def _zip_document(suffix: str, data: bytes, max_expanded: int) -> DocText:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return DocText(flags={"no_text", "unreadable"}, problem="the file is damaged (not a valid document)")
    with archive:
        infos = archive.infolist()
        names = {i.filename.lower() for i in infos}
        flags: set[str] = set()
        content_types = ""
        if "[content_types].xml" in names and archive.getinfo("[Content_Types].xml").file_size < 1_000_000:
            content_types = archive.read("[Content_Types].xml").decode("utf-8", "replace")
        if suffix == ".docm" or any(n.endswith("vbaproject.bin") for n in names) or "macroEnabled" in content_types:
            flags.add("macro")
        expanded = sum(i.file_size for i in infos)
        if expanded > max_expanded or len(infos) > 10_000:
            # A zip bomb: python-docx would inflate it all into memory.
            return DocText(
                flags=flags | {"no_text", "zip_bomb"},
                problem=f"the file expands to {expanded // 1_000_000} MB and was not opened",
            )
    if suffix == ".odt":
        return _odt(data, flags)
    result = _docx(data)
    result.flags |= flags
    return result


def _docx(data: bytes) -> DocText:
    """Paragraphs and tables of the main document part, in body order.

    python-docx's XML layer reads only the two parts needed (the document and, for style names,
    styles.xml); `docx.Document()` would parse every part of the package, most of the time it takes.
    """
    from docx.oxml import parse_xml  # imported here: lxml costs start-up time other commands skip
    from docx.oxml.ns import qn

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            body = parse_xml(archive.read(_main_part(archive))).find(qn("w:body"))
            styles = _style_names(archive) if body is not None and body.find(f".//{qn('w:pStyle')}") is not None else {}
    except Exception as exc:
        return DocText(flags={"no_text", "unreadable"}, problem=f"the document could not be opened ({type(exc).__name__})")
    if body is None:
        return DocText(flags={"no_text", "unreadable"}, problem="the document has no body")
    paragraphs: list[tuple[str, str]] = []  # (text, style name) in body order, tables included
    for child in body.iterchildren():
        if child.tag == qn("w:p"):
            paragraphs.append((_ptext(child), _style_of(styles, child)))
        elif child.tag == qn("w:tbl"):
            for row in child.iter(qn("w:tr")):
                cells = [" ".join(_ptext(p) for p in tc.iter(qn("w:p"))).strip() for tc in row.iter(qn("w:tc"))]
                line = " ".join(c for c in _dedupe(cells) if c)
                if line:
                    paragraphs.append((line, "table"))
    title = ""
    nonempty = [(t.strip(), s) for t, s in paragraphs if t.strip()]
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
        rels = archive.read("_rels/.rels").decode("utf-8", "replace")
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
        root = parse_xml(archive.read("word/styles.xml"))
    except KeyError:
        return {}
    names = {}
    for style in root.iter(qn("w:style")):
        name = style.find(qn("w:name"))
        names[style.get(qn("w:styleId")) or ""] = name.get(qn("w:val")) if name is not None else ""
    return names


def _ptext(p) -> str:  # type: ignore[no-untyped-def]
    from docx.oxml.ns import qn

    out = []
    for node in p.iter(qn("w:t"), qn("w:tab"), qn("w:br")):
        out.append((node.text or "") if node.tag == qn("w:t") else " ")
    return "".join(out)


def _style_of(styles: dict[str, str], p) -> str:  # type: ignore[no-untyped-def]
    from docx.oxml.ns import qn

    ppr = p.find(qn("w:pPr"))
    style = ppr.find(qn("w:pStyle")) if ppr is not None else None
    if style is None:
        return ""
    style_id = style.get(qn("w:val")) or ""
    return styles.get(style_id) or style_id


def _dedupe(cells: list[str]) -> list[str]:
    # Merged cells repeat their text in every grid cell they span.
    out: list[str] = []
    for cell in cells:
        if not out or out[-1] != cell:
            out.append(cell)
    return out


def _odt(data: bytes, flags: set[str]) -> DocText:
    from xml.etree import ElementTree

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        root = ElementTree.fromstring(archive.read("content.xml"))
    text_ns = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
    lines = ["".join(el.itertext()) for el in root.iter() if el.tag in (text_ns + "p", text_ns + "h")]
    result = _from_lines(lines)
    result.flags |= flags
    return result


def _from_lines(lines: list[str]) -> DocText:
    cleaned = [normalise(line) for line in lines]
    cleaned = [line for line in cleaned if line]
    if not cleaned:
        return DocText()
    return DocText(title=cleaned[0], paragraphs=cleaned[1:])


def _binary_office(suffix: str, data: bytes) -> DocText:
    if suffix in (".doc", ".wps") and shutil.which("antiword"):
        result = _tool_text(["antiword", "-m", "UTF-8.txt", "-w", "0", "{in}"], suffix, data)
        if result.paragraphs or result.title:
            return result
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office:
        return _soffice_text(office, suffix, data)
    return DocText(flags={"no_text"}, problem="no tool on this server reads this format; the file is kept")


def _tool_text(argv: list[str], suffix: str, data: bytes) -> DocText:
    if not shutil.which(argv[0]):
        return DocText(flags={"no_text"}, problem=f"{argv[0]} is not installed; the file is kept")
    with tempfile.TemporaryDirectory(prefix="mailbridge-doc-") as tmp:
        source = Path(tmp) / f"input{suffix}"  # never the sender's file name
        source.write_bytes(data)
        argv = [str(source) if a == "{in}" else a for a in argv]
        try:
            done = subprocess.run(argv, capture_output=True, timeout=_TOOL_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            return DocText(flags={"no_text"}, problem=f"{argv[0]} took too long on this file")
    if done.returncode != 0:
        return DocText(flags={"no_text", "unreadable"}, problem=f"{argv[0]} could not read the file")
    return _from_lines(charsets.decode(done.stdout, "utf-8").replace("\f", "\n").splitlines())


def _soffice_text(office: str, suffix: str, data: bytes) -> DocText:
    with tempfile.TemporaryDirectory(prefix="mailbridge-soffice-") as tmp:
        source = Path(tmp) / f"input{suffix}"
        source.write_bytes(data)
        argv = [office, f"-env:UserInstallation=file://{tmp}/profile", "--headless",
                "--convert-to", "txt:Text (encoded):UTF8", "--outdir", tmp, str(source)]
        try:
            subprocess.run(argv, capture_output=True, timeout=_TOOL_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            return DocText(flags={"no_text"}, problem="LibreOffice took too long on this file")
        out = Path(tmp) / "input.txt"
        if not out.exists():
            return DocText(flags={"no_text", "unreadable"}, problem="LibreOffice could not read the file")
        return _from_lines(charsets.decode(out.read_bytes(), "utf-8").splitlines())


def _ole_has_macros(data: bytes) -> bool:
    # Word 97 keeps VBA in an OLE storage named "Macros" holding "_VBA_PROJECT"; names are UTF-16.
    return data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" and (
        "_VBA_PROJECT".encode("utf-16-le") in data or b"_VBA_PROJECT" in data
    )
