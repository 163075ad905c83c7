"""What users install is what is tested: the wheel, in an empty virtualenv, run from outside the tree."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from support.mailfactory import make_mail
from support.mbcli import PASSWORD_ENV, _toml

ROOT = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "mailbridge-demo", "__pycache__",
                              "*.pyc", ".pytest_cache")


def _run(argv: list, cwd: Path, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)
    assert done.returncode == 0, f"{argv} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def _build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "source"  # a copy: no build/ or egg-info of an earlier build leaks into the wheel
    shutil.copytree(ROOT, source, ignore=SKIP)
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp_path / "dist", source], tmp_path)
    [wheel] = (tmp_path / "dist").glob("mailbridge-*.whl")
    return wheel


@pytest.mark.slow
def test_wheel_holds_every_module_and_data_file(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    shipped = set(zipfile.ZipFile(wheel).namelist())
    package = ROOT / "mailbridge"
    tracked = {str(p.relative_to(ROOT)) for p in package.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc")}
    assert tracked - shipped == set()
    # The parts a daemon needs at run time, by name: a regression in package data shows here first.
    for name in ("mailbridge/notify/sender.py", "mailbridge/service/runner.py", "mailbridge/templates/receipt.html",
                 "mailbridge/templates/score/bulletin.j2", "mailbridge/migrations/env.py",
                 "mailbridge/migrations/script.py.mako", "mailbridge/score/profiles/sanmenxia.toml",
                 "mailbridge/demo/roster.csv"):
        assert name in shipped


def test_installed_wheel_runs_the_demo_and_a_poll_outside_the_tree(tmp_path: Path, imap_account,
                                                                     smtp_server) -> None:  # type: ignore[no-untyped-def]
    wheel = _build_wheel(tmp_path)
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)  # empty: no system site-packages
    bin_dir = env_dir / "bin"
    _run([bin_dir / "python", "-m", "pip", "install", "-q", wheel], tmp_path)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MAILBRIDGE_CONFIG", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    where = _run([bin_dir / "python", "-c", "import mailbridge; print(mailbridge.__file__)"], work, env).stdout
    assert str(env_dir) in where and str(ROOT) not in where

    demo = _run([bin_dir / "mailbridge", "demo", "--dir", "demo"], work, env)
    assert "Outputs:" in demo.stdout
    assert len(list((work / "demo" / "outbox").glob("*.eml"))) >= 10

    server = smtp_server()
    imap_account.append(make_mail(1))
    (work / "config.toml").write_text("\n".join([
        "[database]", f"url = {_toml('sqlite:///mb.db')}", "[storage]", 'dir = "store"',
        "[smtp]", 'transport = "smtp"', 'host = "127.0.0.1"', f"port = {server.port}", 'security = "plain"',
        'from = "三门峡市科协 <smxskx@163.com>"',
        "[[mailboxes]]", 'name = "smxskx"', f"host = {_toml(imap_account.host)}", f"port = {imap_account.port}",
        'security = "plain"', f"username = {_toml(imap_account.user)}", f'password_env = "{PASSWORD_ENV}"', "",
    ]), encoding="utf-8")
    env[PASSWORD_ENV] = imap_account.password
    _run([bin_dir / "mailbridge", "check-config"], work, env)
    poll = _run([bin_dir / "mailbridge", "poll", "--once"], work, env)
    assert "1 new" in poll.stdout and "outbox: 1 sent" in poll.stdout, poll.stdout
    [receipt] = server.received
    assert receipt.recipients == ["lsxkx@163.com"] and str(receipt.message["Subject"]).startswith("回执")
    assert _run([bin_dir / "mailbridge", "status"], work, env).returncode == 0
