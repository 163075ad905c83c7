"""Charset labels as mail clients really use them, mapped to codecs that decode them right.

Labels are resolved through the WHATWG Encoding Standard's label table (the one browsers, MimeKit
and stalwart follow), which knows spellings Python's codec registry does not (`iso-8859-8-i`,
`x-mac-ukrainian`, `csiso88598i`…), then through Python's own aliases.
"""
from __future__ import annotations

import codecs
import re

from mailbridge.parse import japanese

# WHATWG Encoding Standard (encoding.spec.whatwg.org, encodings.json): label → Python codec.
# Deviations, each for mail rather than the web:
# - the GB family decodes as its superset GB18030 (WHATWG's gbk decoder is the gb18030 decoder;
#   text labelled gb2312 routinely holds GBK-only names: 喆, 镕, 堃, 玥) and Big5 as Big5-HKSCS;
# - us-ascii/ascii are not windows-1252: 8-bit bytes under an ascii label are usually UTF-8 or
#   GBK from a Chinese client, so they are guessed (`_UNKNOWN_8BIT`);
# - x-user-defined is guessed too, and the "replacement" labels (hz-gb-2312, iso-2022-kr) decode
#   with Python's codecs: a browser refuses them to block script injection, a mail reader wants text.
_WHATWG = {
    "utf_8": ("unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8", "x-unicode20utf8", "x-utf-8"),
    "cp866": ("866", "cp866", "csibm866", "ibm866"),
    "iso8859_2": ("csisolatin2", "iso-8859-2", "iso-ir-101", "iso8859-2", "iso88592", "iso_8859-2",
                  "iso_8859-2:1987", "l2", "latin2"),
    "iso8859_3": ("csisolatin3", "iso-8859-3", "iso-ir-109", "iso8859-3", "iso88593", "iso_8859-3",
                  "iso_8859-3:1988", "l3", "latin3"),
    "iso8859_4": ("csisolatin4", "iso-8859-4", "iso-ir-110", "iso8859-4", "iso88594", "iso_8859-4",
                  "iso_8859-4:1988", "l4", "latin4"),
    "iso8859_5": ("csisolatincyrillic", "cyrillic", "iso-8859-5", "iso-ir-144", "iso8859-5", "iso88595",
                  "iso_8859-5", "iso_8859-5:1988"),
    "iso8859_6": ("arabic", "asmo-708", "csiso88596e", "csiso88596i", "csisolatinarabic", "ecma-114",
                  "iso-8859-6", "iso-8859-6-e", "iso-8859-6-i", "iso-ir-127", "iso8859-6", "iso88596",
                  "iso_8859-6", "iso_8859-6:1987"),
    "iso8859_7": ("csisolatingreek", "ecma-118", "elot_928", "greek", "greek8", "iso-8859-7", "iso-ir-126",
                  "iso8859-7", "iso88597", "iso_8859-7", "iso_8859-7:1987", "sun_eu_greek"),
    # -8-i ("logical" order) and -8-e ("visual") name the same bytes; only the display differs.
    "iso8859_8": ("csiso88598e", "csisolatinhebrew", "hebrew", "iso-8859-8", "iso-8859-8-e", "iso-ir-138",
                  "iso8859-8", "iso88598", "iso_8859-8", "iso_8859-8:1988", "visual",
                  "csiso88598i", "iso-8859-8-i", "logical"),
    "iso8859_10": ("csisolatin6", "iso-8859-10", "iso-ir-157", "iso8859-10", "iso885910", "l6", "latin6"),
    "iso8859_13": ("iso-8859-13", "iso8859-13", "iso885913"),
    "iso8859_14": ("iso-8859-14", "iso8859-14", "iso885914"),
    "iso8859_15": ("csisolatin9", "iso-8859-15", "iso8859-15", "iso885915", "iso_8859-15", "l9"),
    "iso8859_16": ("iso-8859-16",),
    "koi8_r": ("cskoi8r", "koi", "koi8", "koi8-r", "koi8_r"),
    "koi8_u": ("koi8-ru", "koi8-u"),
    "mac_roman": ("csmacintosh", "mac", "macintosh", "x-mac-roman"),
    "cp874": ("dos-874", "iso-8859-11", "iso8859-11", "iso885911", "tis-620", "windows-874"),
    "cp1250": ("cp1250", "windows-1250", "x-cp1250"),
    "cp1251": ("cp1251", "windows-1251", "x-cp1251"),
    "windows-1252": ("cp1252", "cp819", "csisolatin1", "ibm819", "iso-8859-1", "iso-ir-100", "iso8859-1",
                     "iso88591", "iso_8859-1", "iso_8859-1:1987", "l1", "latin1", "windows-1252", "x-cp1252"),
    "cp1253": ("cp1253", "windows-1253", "x-cp1253"),
    "cp1254": ("cp1254", "csisolatin5", "iso-8859-9", "iso-ir-148", "iso8859-9", "iso88599", "iso_8859-9",
               "iso_8859-9:1989", "l5", "latin5", "windows-1254", "x-cp1254"),
    "cp1255": ("cp1255", "windows-1255", "x-cp1255"),
    "cp1256": ("cp1256", "windows-1256", "x-cp1256"),
    "cp1257": ("cp1257", "windows-1257", "x-cp1257"),
    "cp1258": ("cp1258", "windows-1258", "x-cp1258"),
    "mac_cyrillic": ("x-mac-cyrillic", "x-mac-ukrainian"),
    # Python spells some of these differently (email.charset maps gb2312 to eucgb2312_cn, big5 to
    # big5_tw), so those spellings are listed too.
    "gb18030": ("chinese", "csgb2312", "csiso58gb231280", "gb2312", "gb_2312", "gb_2312-80", "gbk", "iso-ir-58",
                "x-gbk", "gb18030", "windows-936", "cp936", "ms936", "936", "euc-cn", "euccn", "eucgb2312_cn",
                "eucgb2312-cn", "gb2312-80", "x-euc-cn", "gb2312_1980", "x-cp936"),
    "big5hkscs": ("big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5", "big5hkscs", "x-big5", "big5_tw",
                  "big5-tw", "cp950", "windows-950", "ms950"),
    "euc-jp": ("cseucpkdfmtjapanese", "euc-jp", "x-euc-jp"),
    "iso-2022-jp": ("csiso2022jp", "iso-2022-jp"),
    # WHATWG's shift_jis decoder is Windows-31J (NEC and IBM extensions included): cp932.
    "cp932": ("csshiftjis", "ms932", "ms_kanji", "shift-jis", "shift_jis", "sjis", "windows-31j", "x-sjis"),
    # WHATWG's euc-kr decoder is the Unified Hangul Code superset: cp949.
    "cp949": ("cseuckr", "csksc56011987", "euc-kr", "iso-ir-149", "korean", "ks_c_5601-1987", "ks_c_5601-1989",
              "ksc5601", "ksc_5601", "windows-949", "ks_c_5601"),
    "hz": ("hz-gb-2312",),
    "iso2022_kr": ("csiso2022kr", "iso-2022-kr"),
    "utf_16_be": ("unicodefffe", "utf-16be"),
    "utf_16_le": ("csunicode", "iso-10646-ucs-2", "ucs-2", "unicode", "unicodefeff", "utf-16le"),
    "utf_16": ("utf-16",),  # WHATWG: utf-16le; Python's utf_16 also honours a byte order mark
}
_LABELS = {label: codec for codec, labels in _WHATWG.items() for label in labels}
# Labels that say "some 8-bit text" without naming it: guess from the bytes.
_UNKNOWN_8BIT = {"unknown-8bit", "unknown", "x-unknown", "8bit", "x-user-defined", "default", "charset", "",
                 "us-ascii", "ascii", "ansi_x3.4-1968", "iso-2022-cn", "iso-2022-cn-ext"}
_GUESSES = ("utf-8", "gb18030", "big5hkscs")
_WS = re.compile(r"[\t\n\f\r ]+")  # the ASCII white space WHATWG strips from labels


def _c1_as_latin1(err: UnicodeError) -> tuple[str, int]:
    """WHATWG windows-1252: the five bytes cp1252 leaves undefined are the C1 controls."""
    assert isinstance(err, UnicodeDecodeError)  # registered for decoding only
    return err.object[err.start : err.end].decode("latin-1"), err.end


codecs.register_error("mailbridge-windows-1252", _c1_as_latin1)


def codec_for(label: str | None) -> str | None:
    """The codec to use for a MIME charset label, or None when the bytes must be guessed."""
    if not label:
        return None
    name = _WS.sub("", label.strip().strip("\"'")).lower()
    if name in _UNKNOWN_8BIT:
        return None
    if name in _LABELS:
        return _LABELS[name]
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


# Byte order marks, longest first (UTF-32LE's starts with UTF-16LE's). WHATWG "decode" lets a BOM
# override the label; Notepad's "Unicode" .txt is UTF-16LE with FF FE, which the GB18030 guess
# turned into garbage full of NULs.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def _by_bom(data: bytes) -> str | None:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            body = data[len(bom):]
            if codec.startswith("utf-32") and (len(body) % 4 or _strict(body, codec) is None):
                continue  # FF FE 00 00 can also be UTF-16LE text starting with U+0000
            return body.decode(codec, errors="replace")  # a cut input may end mid-character
    return None


def decode(data: bytes, label: str | None = None) -> str:
    """Decode bytes by their BOM, else under a label, falling back through UTF-8/GB18030/Big5
    before replacing."""
    by_bom = _by_bom(data)
    if by_bom is not None:
        return by_bom
    codec = codec_for(label)
    if codec:
        text = _strict(data, codec)
        if text is not None:
            return text
    for guess in _GUESSES:
        if guess == codec:
            continue
        try:
            return data.decode(guess)
        except UnicodeDecodeError:
            continue
    if codec in ("iso-2022-jp", "euc-jp"):
        codec = "iso2022_jp_ext" if codec == "iso-2022-jp" else "euc_jp"
    return data.decode(codec or "gb18030", errors="replace")


def _strict(data: bytes, codec: str) -> str | None:
    """`data` decoded under `codec`, or None when it is not valid there."""
    if codec == "windows-1252":
        return data.decode("cp1252", errors="mailbridge-windows-1252")
    if codec == "iso-2022-jp":
        return japanese.decode_iso2022jp(data)
    if codec == "euc-jp":
        return japanese.decode_eucjp(data)
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def recover(text: str) -> str:
    """Turn surrogate-escaped raw 8-bit bytes (how the stdlib keeps them) back into text."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    return decode(text.encode("utf-8", errors="surrogateescape"))
