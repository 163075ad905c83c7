"""What the receiving server recorded in Authentication-Results (RFC 8601): DKIM and DMARC verdicts.

Anyone can put an Authentication-Results header in the mail they send, so only the receiving
server's own count: those whose authserv-id is in `ingest.trusted_authserv_ids`, or, when that is
empty, those of the topmost header's server. A border MTA should delete incoming headers that
carry its own authserv-id (RFC 8601 §5) and adds its own above everything the sender wrote, so
for each method only the topmost trusted header reporting it is read.
"""
from __future__ import annotations

from dataclasses import dataclass, field

MAX_HEADERS = 20  # a receiving server writes one or a few; more is noise (or an attack)
MAX_HEADER_CHARS = 8192


@dataclass(frozen=True)
class Result:
    """One `method=result` clause, e.g. dkim=pass header.d=163.com header.s=s110527."""

    method: str
    result: str
    props: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdicts:
    """The trusted results of one mail; `present` is False when the receiving server recorded none."""

    present: bool = False
    results: tuple[Result, ...] = ()

    def of(self, method: str) -> list[Result]:
        return [r for r in self.results if r.method == method]

    def dkim_aligned(self, from_address: str) -> bool:
        """A DKIM pass whose signing domain (header.d, or header.i's domain) is aligned with From's
        domain, relaxed as in DMARC (RFC 7489 §3.1.1): the same domain, or one a subdomain of the other."""
        domain = from_address.rpartition("@")[2].strip().lower().rstrip(".")
        if not domain:
            return False
        for r in self.of("dkim"):
            if r.result != "pass":
                continue
            signer = r.props.get("header.d") or r.props.get("header.i", "").rpartition("@")[2]
            signer = signer.strip().lower().rstrip(".")
            if signer and (signer == domain or domain.endswith("." + signer) or signer.endswith("." + domain)):
                return True
        return False

    @property
    def dmarc_failed(self) -> bool:
        results = {r.result for r in self.of("dmarc")}
        return "fail" in results and "pass" not in results


def _clauses(value: str) -> list[list[str]]:
    """Words of each `;`-separated clause, comments dropped and quoted strings unquoted (RFC 8601
    §2.2 grammar). One pass over the characters: linear whatever the input."""
    clauses: list[list[str]] = [[]]
    word: list[str] = []
    depth = 0  # comment nesting
    quoted = escaped = False

    def end_word() -> None:
        if word:
            clauses[-1].append("".join(word))
            word.clear()

    for ch in value:
        if escaped:
            escaped = False
            if depth == 0:
                word.append(ch)
        elif ch == "\\" and (quoted or depth):
            escaped = True
        elif quoted:
            if ch == '"':
                quoted = False
            else:
                word.append(ch)
        elif depth:
            depth += {"(": 1, ")": -1}.get(ch, 0)
        elif ch == "(":
            end_word()
            depth = 1
        elif ch == '"':
            quoted = True
        elif ch == ";":
            end_word()
            clauses.append([])
        elif ch.isspace():
            end_word()
        else:
            word.append(ch)
    end_word()
    return clauses


def parse_header(value: str) -> tuple[str, list[Result]]:
    """(authserv-id lower-cased, its results) of one header value."""
    clauses = _clauses(value[:MAX_HEADER_CHARS])
    head = clauses[0]
    authserv = head[0].lower() if head else ""
    results = []
    for words in clauses[1:]:
        if not words or "=" not in words[0]:
            continue  # `none`, or not a result
        method, _, result = words[0].partition("=")
        props: dict[str, str] = {}
        for word in words[1:]:
            key, eq, prop = word.partition("=")
            if eq and key:
                props.setdefault(key.lower(), prop)
        results.append(Result(method.partition("/")[0].lower(), result.lower(), props))
    return authserv, results


def verdicts(headers: list[str], trusted_ids: list[str] | tuple[str, ...] = ()) -> Verdicts:
    """The trusted results among a mail's Authentication-Results header values (topmost first)."""
    parsed = [parse_header(h) for h in headers[:MAX_HEADERS]]
    if not parsed:
        return Verdicts()
    trusted = {t.strip().lower() for t in trusted_ids} or {parsed[0][0]}
    mine = [results for authserv, results in parsed if authserv and authserv in trusted]
    if not mine:
        return Verdicts()
    # Per method, the topmost trusted header that reports it: milters write one header each
    # (OpenDMARC's above OpenDKIM's), and a header the sender wrote under the server's own id sits
    # below the server's, so it cannot outvote it.
    taken: list[Result] = []
    done: set[str] = set()
    for results in mine:
        methods = {r.method for r in results}
        taken += [r for r in results if r.method not in done]
        done |= methods
    return Verdicts(True, tuple(taken))
