"""The committed mail is what the kit's generators write: regenerating changes no byte.

mailbridge/demo/mail/*.eml and roster.csv ship in the wheel while their generator (mailkit.demo)
does not; tests/samples/*.eml and *.json are asserted on by test_samples.py. Both would drift from
their source without this check.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mailkit import demo

ROOT = Path(__file__).resolve().parents[1]


def same_files(made: Path, committed: Path, patterns: tuple[str, ...]) -> None:
    names = {p.name for pattern in patterns for p in committed.glob(pattern)}
    assert names, f"nothing committed in {committed}"
    assert {p.name for pattern in patterns for p in made.glob(pattern)} == names
    changed = [n for n in sorted(names) if (made / n).read_bytes() != (committed / n).read_bytes()]
    assert not changed, f"regenerate and commit these: {changed}"


def test_the_shipped_demo_mail_is_what_the_generator_writes(tmp_path: Path) -> None:
    demo.main(tmp_path)
    same_files(tmp_path / "mail", ROOT / "mailbridge" / "demo" / "mail", ("*.eml",))
    same_files(tmp_path, ROOT / "mailbridge" / "demo", ("roster.csv",))
    demo.main(tmp_path / "again")  # deterministic also when run twice in one process
    same_files(tmp_path / "again" / "mail", tmp_path / "mail", ("*.eml",))


@pytest.mark.slow
def test_the_sample_mail_is_what_the_generator_writes(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "tests" / "samples" / "make_samples.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    same_files(tmp_path, ROOT / "tests" / "samples", ("*.eml", "*.json"))
