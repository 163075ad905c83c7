"""The one mailbox of a From (or Sender) header, read the way webmail and DMARC read it.

The structure comes from the stdlib's RFC 5322 parser (`email._header_value_parser`, what
`policy.default` and `email.headerregistry` use): the address is the parsed addr-spec, never text
found by searching the header, and encoded-words count only inside the display name (RFC 2047 §5:
an encoded-word never forms part of an addr-spec). `From: =?utf-8?Q?x:reviewer@smxkx.example;?=
<attacker@gmail.com>` is attacker@gmail.com, as everyone else reads it. A header that is not
exactly one mailbox with a plain addr-spec gives no address at all, and says why.

The display name is decoded by `headers.decode_text` from its raw text, so the QQ/Foxmail/163
quirks keep working: encoded-words inside quotes, one character split across two words, raw
8-bit GBK.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from email import _header_value_parser as rfc5322
from email.message import Message

from mailbridge.parse import charsets
from mailbridge.parse.headers import blank_encoded_words, decode_text, raw_header

# A real From is well under 1 KB; this bounds every regex and the parser's work on crafted input.
MAX_HEADER = 4096
_FOLD = re.compile(r"\r?\n[ \t]")
_ATEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010ffff]+")
# Host name labels (RFC 1123), with UTF-8 (RFC 6532) and `_` (not a host name character, but
# DNS has it and test mail uses it: sender_domain.tld).
_LABEL = re.compile(r"[\w\u0080-\U0010ffff](?:[\w\-\u0080-\U0010ffff]*[\w\u0080-\U0010ffff])?")
_TAIL_ANGLE_ADDR = re.compile(r"<([^<>\s\"()\\,;:]+)>\s*$")
# For the fallback only. Each alternative starts with a fixed character and the address class
# cannot start inside a run of its own characters (the lookbehind), so a search is linear in the
# input: a 58 KB From without "@" took 12.8 s with the old `[\w.+\-=]+@…` (every start position
# rescanned the run).
_FALLBACK_ADDR = re.compile(r"(?<![\w.+\-=])[\w.+\-=]+@[\w\-]+(?:\.[\w\-]+)+")


@dataclass(frozen=True)
class Mailbox:
    name: str  # decoded display name ("" when none)
    address: str  # lower-case addr-spec, "" when the header is not exactly one valid mailbox
    problem: str | None = None  # why there is no address (None: fine, or no header at all)


def sender_of(msg: Message) -> tuple[str, str, str | None]:
    """(display name, address, problem) from From. Only a mail without any From is read from
    Sender or Return-Path: a From that is not one valid mailbox leaves the sender unknown (DMARC
    and webmail show From, so nothing else may stand in for it)."""
    raw_from = raw_header(msg, "From")
    if raw_from is None:
        found = parse_mailbox(raw_header(msg, "Sender") or raw_header(msg, "Return-Path"))
        return found.name, found.address, None
    found = parse_mailbox(raw_from)
    return found.name, found.address, found.problem


def parse_mailbox(raw: str | None) -> Mailbox:
    """The mailbox of an address header that must hold exactly one (From, Sender)."""
    if raw is None or not raw.strip():
        return Mailbox("", "", None if raw is None else "empty address header")
    if len(raw) > MAX_HEADER:
        return Mailbox("", "", f"address header of {len(raw)} characters, over {MAX_HEADER}")
    text = charsets.recover(_FOLD.sub(" ", raw)).replace("\r", " ").replace("\n", " ")
    try:
        tree, rest = rfc5322.get_address_list(text)
    except Exception:  # noqa: BLE001 - the stdlib parser raises on some inputs (deep comments: RecursionError)
        return _fallback(text)
    found = _one_mailbox(text, tree, rest)
    return found if found.address else _unquoted_name_addr(text) or found


def _one_mailbox(text: str, tree: rfc5322.TokenList, rest: str) -> Mailbox:
    entries = [t for t in tree if t.token_type == "address"]
    if rest.strip() or len(entries) != 1:
        return Mailbox("", "", f"{len(entries)} addresses where one mailbox is required")
    inner = entries[0][0]
    if inner.token_type == "group":
        return Mailbox("", "", "group syntax where one mailbox is required")
    parts = [t for t in inner if t.token_type != "cfws"]
    if len(parts) != 1 or parts[0].token_type not in ("name-addr", "addr-spec"):
        return Mailbox("", "", "not a single mailbox (text after the address)")
    form = parts[0]
    spec = _addr_spec_token(form)
    if spec is None:
        return Mailbox("", "", "no addr-spec")
    # One mailbox: its display name is shown even when its address is unusable (it is never
    # taken for an address).
    name = _display_name(text, form, spec)
    if _holds_encoded_word(spec):
        return Mailbox(name, "", "an encoded-word inside the address")
    local, domain = spec.local_part, spec.domain
    address = f"{local}@{domain}"
    if not _valid_addr_spec(local, domain) or address not in text:
        return Mailbox(name, "", "invalid addr-spec")
    return Mailbox(name, address.lower())


def _unquoted_name_addr(text: str) -> Mailbox | None:
    """`alice@example.com <bob@example.com>`: clients that put an address (or other text with
    `@` and `.`) as the display name without quoting it. The parser reads the first addr-spec
    (alice); Gmail shows, and DMARC checks, the angle-addr (bob), so that is the address, and
    the rest only a name, provided the rest holds no other address syntax (`<>,;:`)."""
    tail = _TAIL_ANGLE_ADDR.search(text)
    if tail is None:
        return None
    prefix = text[: tail.start()]
    bare = _unquote(blank_encoded_words(prefix), keep_quoted=False)
    if any(ch in bare for ch in "<>,;:"):
        return None
    local, _, domain = tail.group(1).rpartition("@")
    if "=?" in tail.group(1) or not _valid_addr_spec(local, domain):
        return None
    return Mailbox(decode_text(_unquote(prefix)), tail.group(1).lower())


def _addr_spec_token(form: rfc5322.TokenList) -> rfc5322.TokenList | None:
    if form.token_type == "addr-spec":
        return form
    angle = [t for t in form if t.token_type == "angle-addr"]
    if len(angle) != 1:
        return None
    specs = [t for t in angle[0] if t.token_type == "addr-spec"]
    return specs[0] if len(specs) == 1 else None


def _holds_encoded_word(token: object) -> bool:
    if getattr(token, "token_type", None) == "encoded-word":
        return True
    return isinstance(token, list) and any(_holds_encoded_word(t) for t in token)


def _valid_addr_spec(local: object, domain: object) -> bool:
    """A dot-atom local part (RFC 5322 §3.4.1, with RFC 6532 UTF-8) and a host name with a dot."""
    if not isinstance(local, str) or not isinstance(domain, str):
        return False
    if not (0 < len(local) <= 64 and 0 < len(domain) <= 253):
        return False
    if any(unicodedata.category(ch)[0] in "CZ" for ch in local + domain):
        return False  # controls, format characters, line separators, spaces
    if not all(_ATEXT.fullmatch(atom) for atom in local.split(".")):
        return False
    labels = domain.split(".")
    return len(labels) >= 2 and all(len(label) <= 63 and _LABEL.fullmatch(label) for label in labels)


def _display_name(text: str, form: rfc5322.TokenList, spec: rfc5322.TokenList) -> str:
    if form.token_type == "addr-spec":  # `addr (Name)`: the old form, the name in a comment
        comments = spec.comments or form.comments
        return decode_text(comments[0]) if comments else ""
    if not any(t.token_type == "display-name" for t in form):
        return ""
    try:
        _name, after = rfc5322.get_display_name(text)
    except rfc5322.errors.HeaderParseError:
        return ""
    return decode_text(_unquote(text[: len(text) - len(after)]))


def _unquote(phrase: str, keep_quoted: bool = True) -> str:
    """A phrase's raw text in one linear pass: each comment becomes a space, quoted strings lose
    their quotes and backslash escapes (or, unless `keep_quoted`, become a space). Encoded-words
    are left for decode_text, also inside quotes (QQ writes `"=?gb18030?B?..?="`)."""
    out: list[str] = []
    quoted = escaped = False
    depth = 0
    for ch in phrase:
        if escaped:
            escaped = False
            if quoted and keep_quoted:
                out.append(ch)
        elif ch == "\\" and (quoted or depth):
            escaped = True
        elif quoted:
            if ch == '"':
                quoted = False
            elif keep_quoted:
                out.append(ch)
        elif depth:
            depth += (ch == "(") - (ch == ")")
            if not depth:
                out.append(" ")
        elif ch == "(":
            depth = 1
        elif ch == '"':
            quoted = True
            if not keep_quoted:
                out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def _fallback(text: str) -> Mailbox:
    """When the parser itself fails: quoted strings, comments and encoded-words are blanked out
    (none of them may yield an address), and the rest must hold exactly one address."""
    bare = _unquote(blank_encoded_words(text), keep_quoted=False)
    found = {m.group(0) for m in _FALLBACK_ADDR.finditer(bare)}
    if len(found) != 1:
        return Mailbox("", "", "the address header cannot be parsed")
    address = found.pop()
    local, _, domain = address.partition("@")
    if not _valid_addr_spec(local, domain):
        return Mailbox("", "", "the address header cannot be parsed")
    return Mailbox("", address.lower())
