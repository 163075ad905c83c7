"""Every sample mail of tests/samples/ through the real CLI (`import`, then the JSON lists), checked
against its expected-result file; and the peer corpus of shared/corpus, none of it lost.

Keys of tests/samples/<case>.json (written by tests/samples/make_samples.py):
- message: fields of the case's `messages list` row (found by the sha256 of the .eml); `sender` compares
  case-insensitively, `message_id` without angle brackets, `disposition_in` lists acceptable dispositions.
  `sender_name` here or in a submission is checked on the submissions.
- submission_count: how many submissions the message made (null: not checked).
- submissions: each matched to a distinct actual submission of the message, checking `subject`,
  `sender_name`, `title`; `flags_include`/`flags_exclude`; `text_contains`/`text_excludes` against
  `submissions show ID --json`'s text; `attachments`, the exact list of files of the mail, matched by
  sha256, with `size`, `filename` or `filename_endswith`.
- import_together: sample files imported in one call, in this order (duplicate deliveries).
- imap_ok: false when the bytes cannot travel over IMAP APPEND (NUL); informative here.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from support.fixtures import SHARED, require_shared
from support.mbcli import Mailbridge

SAMPLES = Path(__file__).resolve().parent / "samples"
CORPUS = SHARED / "corpus"
CASES = sorted(p.stem for p in SAMPLES.glob("*.json"))
DB_FILES = ("mb.db", "mb.db-journal", "mb.db-wal", "mb.db-shm", "mailbridge.toml")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def bare_id(message_id: str | None) -> str | None:
    return message_id.strip().strip("<>") if message_id else message_id


def assert_decoded(field: str, value: Any) -> None:
    """The contract: subject, sender_name, title and filename are fully decoded Unicode."""
    assert isinstance(value, str) and value, f"{field} is empty: {value!r}"
    assert "=?" not in value and "\ufffd" not in value, f"{field} not decoded: {value!r}"


def mismatches(expected: dict, actual: dict, text: str | None) -> list[str]:
    """What of one expected submission the actual one does not satisfy (empty: it matches)."""
    out = []
    for key in ("subject", "sender_name", "title"):
        if key in expected and actual.get(key) != expected[key]:
            out.append(f"{key}: expected {expected[key]!r}, got {actual.get(key)!r}")
    flags = set(actual.get("flags") or ())
    out += [f"flag {f!r} missing from {sorted(flags)}" for f in expected.get("flags_include", ()) if f not in flags]
    out += [f"flag {f!r} must not be set" for f in expected.get("flags_exclude", ()) if f in flags]
    for snippet in expected.get("text_contains", ()):
        if snippet not in (text or ""):
            out.append(f"text lacks {snippet!r}: {(text or '')[:200]!r}")
    out += [f"text holds {s!r}" for s in expected.get("text_excludes", ()) if s in (text or "")]
    if "attachments" in expected:
        files = {a.get("sha256"): a for a in actual.get("attachments") or ()}
        want = {a["sha256"]: a for a in expected["attachments"]}
        if set(files) != set(want):
            out.append(f"attachments: expected {sorted((a.get('filename'), a['size']) for a in want.values())}, "
                       f"got {sorted((a.get('filename'), a.get('size')) for a in files.values())}")
        for digest in set(files) & set(want):
            exp, got = want[digest], files[digest]
            if got.get("size") != exp["size"]:
                out.append(f"size of {exp.get('filename')}: {got.get('size')} != {exp['size']}")
            if "filename" in exp and got.get("filename") != exp["filename"]:
                out.append(f"filename: expected {exp['filename']!r}, got {got.get('filename')!r}")
            if "filename_endswith" in exp and not str(got.get("filename")).endswith(exp["filename_endswith"]):
                out.append(f"filename {got.get('filename')!r} does not end with {exp['filename_endswith']!r}")
    return out


def files_outside_storage(tmp: Path, mb: Mailbridge) -> list[str]:
    """Files the import left anywhere but the store, the outbox, the database and the config,
    and any path through a directory named like a traversal target."""
    def allowed(path: Path) -> bool:
        if path.is_dir():
            return True
        return (path.is_relative_to(mb.store) or path.is_relative_to(mb.root / "outbox")
                or (path.parent == mb.root and path.name in DB_FILES))

    suspect = {"etc", "windows"}
    return [str(path.relative_to(tmp)) for path in tmp.rglob("*")
            if not allowed(path) or suspect & {part.lower() for part in path.relative_to(tmp).parts}]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.slow
def test_sample(case: str, tmp_path: Path) -> None:
    spec = json.loads((SAMPLES / f"{case}.json").read_text(encoding="utf-8"))
    # Nested, so that a traversal escaping the installation still lands inside tmp_path.
    root = tmp_path / "srv" / "mailbridge"
    root.mkdir(parents=True)
    mb = Mailbridge(root, [])
    paths = [SAMPLES / f"{name}.eml" for name in spec.get("import_together", [case])]
    done = mb.run("import", *map(str, paths), timeout=600)
    assert done.returncode == 0, f"import exited {done.returncode}\n{done.stdout}\n{done.stderr}"

    digest = sha256(SAMPLES / f"{case}.eml")
    rows = [m for m in mb.messages() if m["sha256"] == digest]
    assert len(rows) == 1, f"ledger rows for {case}.eml: {rows}"
    row, want = rows[0], spec["message"]
    assert row["mailbox"] == "import" and row["uid"] is None
    if "disposition" in want:
        assert row["disposition"] == want["disposition"], row
    if "disposition_in" in want:
        assert row["disposition"] in want["disposition_in"], row
    if row["disposition"] == "quarantined":
        assert row["reason"], "a quarantined message must say why"
    if "sender" in want:
        assert (row["sender"] or "").lower() == want["sender"].lower(), row
    if "message_id" in want:
        assert bare_id(row["message_id"]) == bare_id(want["message_id"]), row

    by_id = {s["id"]: s for s in mb.submissions()}
    assert set(row["submission_ids"]) <= set(by_id), "submission_ids name unknown submissions"
    subs = [by_id[i] for i in row["submission_ids"]]
    if spec.get("submission_count") is not None:
        assert len(subs) == spec["submission_count"], [s.get("title") for s in subs]
    for sub in subs:
        for field in ("subject", "sender_name", "title"):
            assert_decoded(field, sub.get(field))
        for att in sub.get("attachments") or ():
            assert_decoded("filename", att.get("filename"))
        if "sender" in want:
            assert sub["sender"] == want["sender"].lower()
        if "sender_name" in want:
            assert sub["sender_name"] == want["sender_name"]

    texts: dict[int, str | None] = {}
    for sub in subs:
        if any("text_contains" in e or "text_excludes" in e for e in spec["submissions"]):
            texts[sub["id"]] = json.loads(mb.ok("submissions", "show", str(sub["id"]), "--json"))["text"]
    unused = list(subs)
    for n, expected in enumerate(spec["submissions"]):
        tried = {}
        for sub in unused:
            tried[sub.get("title")] = mismatches(expected, sub, texts.get(sub["id"]))
            if not tried[sub.get("title")]:
                unused.remove(sub)
                break
        else:
            pytest.fail(f"expected submission #{n} matches none of the message's submissions:\n"
                        + json.dumps(tried, ensure_ascii=False, indent=1))

    assert files_outside_storage(tmp_path, mb) == []


@pytest.mark.slow
def test_corpus_nothing_lost(tmp_path: Path) -> None:
    """Every message of the peer corpus ends in the ledger, from one import call that exits 0."""
    files = sorted(require_shared(CORPUS).rglob("*.eml"))
    assert files, f"no .eml under {CORPUS}"
    mb = Mailbridge(tmp_path, [])
    done = mb.run("import", *map(str, files), timeout=900)
    assert done.returncode == 0, f"import exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    rows = mb.messages()
    assert all(r["disposition"] for r in rows), [r for r in rows if not r["disposition"]]
    # Some corpus files are byte-identical copies of each other: each file is still one ledger row.
    ledger = {r["sha256"] for r in rows}
    lost = [str(p.relative_to(CORPUS)) for p in files if sha256(p) not in ledger]
    assert lost == [], f"not in the ledger: {lost}"
    assert len(rows) == len(files), f"{len(rows)} ledger rows for {len(files)} files"
