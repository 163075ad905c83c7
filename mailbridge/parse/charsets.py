"""Charset labels as Chinese clients really use them, mapped to codecs that decode them right."""
from __future__ import annotations

import codecs

# The WHATWG Encoding Standard, mikel/mail, MimeKit and stalwart all decode the GB family as its
# superset GB18030 (text labelled gb2312 routinely holds GBK-only names: 喆, 镕, 堃, 玥) and the
# Big5 family as Big5-HKSCS. Python spells some of these names differently (email.charset maps
# gb2312 to eucgb2312_cn and big5 to big5_tw), so every spelling is listed.
_GB = {
    "gb2312", "gbk", "gb18030", "x-gbk", "windows-936", "cp936", "ms936", "936", "euc-cn", "euccn",
    "eucgb2312_cn", "eucgb2312-cn", "gb2312-80", "gb_2312-80", "gb_2312", "csgb2312", "chinese",
    "iso-ir-58", "csiso58gb231280", "x-euc-cn", "gb2312_1980", "x-cp936",
}
_BIG5 = {
    "big5", "big5-hkscs", "big5hkscs", "cn-big5", "x-big5", "big5_tw", "big5-tw", "csbig5",
    "cp950", "windows-950", "ms950", "x-x-big5",
}
# Labels that say "some 8-bit text" without naming it: guess from the bytes.
_UNKNOWN = {"unknown-8bit", "unknown", "x-unknown", "8bit", "x-user-defined", "default", "charset", ""}
_GUESSES = ("utf-8", "gb18030", "big5hkscs")


def codec_for(label: str | None) -> str | None:
    """The codec to use for a MIME charset label, or None when the bytes must be guessed."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    if name in _GB:
        return "gb18030"
    if name in _BIG5:
        return "big5hkscs"
    if name in _UNKNOWN:
        return None
    if name in ("utf8", "utf-8", "x-utf-8", "unicode-1-1-utf-8"):
        return "utf-8"
    if name in ("us-ascii", "ascii", "ansi_x3.4-1968"):
        return None  # 8-bit bytes under an ascii label are common: guess rather than mangle
    if name in ("ks_c_5601-1987", "ks_c_5601", "ksc5601"):
        return "cp949"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode(data: bytes, label: str | None = None) -> str:
    """Decode bytes under a label, falling back through UTF-8/GB18030/Big5 before replacing."""
    codec = codec_for(label)
    if codec:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            pass
    for guess in _GUESSES:
        if guess == codec:
            continue
        try:
            return data.decode(guess)
        except UnicodeDecodeError:
            continue
    return data.decode(codec or "gb18030", errors="replace")


def recover(text: str) -> str:
    """Turn surrogate-escaped raw 8-bit bytes (how the stdlib keeps them) back into text."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    return decode(text.encode("utf-8", errors="surrogateescape"))
