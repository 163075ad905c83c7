"""The harness itself: the server markers follow the fixtures, and the unit subset needs no server."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.dovecot import Dovecot

ROOT = Path(__file__).resolve().parents[1]


def collect(*args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", *args], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode in (0, 5), done.stdout + done.stderr  # 5: nothing selected
    return [line for line in done.stdout.splitlines() if "::" in line]


@pytest.mark.slow
def test_server_tests_are_marked_by_their_fixtures() -> None:
    unit = collect("-m", "not imap and not smtp", "tests/test_support_servers.py", "tests/test_outbox.py")
    imap = collect("-m", "imap", "tests/test_support_servers.py")
    smtp = collect("-m", "smtp", "tests/test_outbox.py")
    assert "tests/test_support_servers.py::test_missing_dovecot_skips_locally_and_fails_on_ci" in unit
    assert "tests/test_support_servers.py::test_append_fetch_round_trips_8bit_bytes" in imap  # imap_account
    assert "tests/test_support_servers.py::test_select_without_id_is_unsafe_login[True]" in imap  # via `proxied`
    assert any("test_sigkill_mid_batch" in t for t in smtp) and not any("test_sigkill_mid_batch" in t for t in unit)
    assert not set(unit) & set(imap + smtp)


def test_an_unmarked_test_cannot_start_a_server(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match="mark it imap"):
        Dovecot(tmp_path).start()


@pytest.mark.slow
def test_unknown_markers_and_passing_xfails_are_errors(tmp_path: Path) -> None:
    (tmp_path / "test_typo.py").write_text("import pytest\n\n@pytest.mark.slwo\ndef test_a():\n    pass\n")
    (tmp_path / "test_fixed.py").write_text("import pytest\n\n@pytest.mark.xfail\ndef test_b():\n    pass\n")
    for name, expected in [("test_typo.py", "'slwo' not found in `markers`"), ("test_fixed.py", "[XPASS(strict)]")]:
        done = subprocess.run([sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "-q",
                               "--rootdir", str(tmp_path), str(tmp_path / name)],
                              cwd=tmp_path, capture_output=True, text=True, check=False)
        assert done.returncode != 0 and expected in done.stdout, done.stdout


def test_a_command_forked_from_the_zygote_is_the_command_run_afresh(tmp_path: Path) -> None:
    """tests/support/zygote.py stands in for `python -m mailbridge` in most tests: the same exit code,
    stdout and stderr (text, universal newlines), with the caller's environment and working
    directory, and a timeout that kills the command."""
    from support.mbcli import Mailbridge
    from support.zygote import Zygote

    mb = Mailbridge(tmp_path / "mb", [{"name": "box", "host": "127.0.0.1", "port": 1, "security": "plain",
                                       "username": "u", "password_env": "MB_HARNESS_PW", "folders": ["INBOX"]}])
    mb.ok("db", "upgrade")
    for args in (["--version"], ["check-config"], ["messages", "list", "--json"], ["no-such-command"],
                 ["submissions", "show", "1"]):
        for env in ({}, {"MB_HARNESS_PW": "set"}):
            mb.env = {**mb.env, **env} if env else {k: v for k, v in mb.env.items() if k != "MB_HARNESS_PW"}
            forked, fresh = mb.run(*args), mb.run(*args, fresh=True)
            assert (forked.returncode, forked.stdout, forked.stderr) == \
                (fresh.returncode, fresh.stdout, fresh.stderr), (args, env)
    assert mb.run("--version").returncode == 0 and mb.run("no-such-command").returncode == 2
    with pytest.raises(subprocess.TimeoutExpired):
        Zygote.get().run(["-c", str(mb.config), "run"], {**mb.env, "MB_HARNESS_PW": "set"}, mb.root, timeout=2)
