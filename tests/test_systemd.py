"""The systemd unit: valid, hardened (exposure at most 2.0), and the README's deployment steps match it."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "systemd" / "mailbridge.service"


def _analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.fail("systemd-analyze is missing (apt-get install systemd); `make test` installs it", pytrace=False)
    return path


def _unit_here(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this environment's mailbridge (verify checks it exists)."""
    exe = Path(sys.executable).with_name("mailbridge")
    assert exe.exists(), exe
    copy = tmp_path / "mailbridge.service"
    copy.write_text(UNIT.read_text(encoding="utf-8").replace("/usr/local/bin/mailbridge", str(exe)), encoding="utf-8")
    return copy


def test_unit_is_hardened(tmp_path: Path) -> None:
    done = subprocess.run([_analyze(), "security", "--offline=yes", "--no-pager", str(_unit_here(tmp_path))],
                          capture_output=True, text=True, check=False)
    level = re.search(r"Overall exposure level for mailbridge\.service: ([\d.]+)", done.stdout)
    assert level, done.stdout + done.stderr
    assert float(level.group(1)) <= 2.0, done.stdout


def test_unit_verifies(tmp_path: Path) -> None:
    done = subprocess.run([_analyze(), "verify", str(_unit_here(tmp_path))], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr


def test_unit_says_what_the_runner_does() -> None:
    unit = UNIT.read_text(encoding="utf-8")
    for line in ("Type=notify", "WatchdogSec=", "StateDirectory=mailbridge", "ConfigurationDirectory=mailbridge",
                 "LoadCredential=", "ProtectSystem=strict", "MemoryMax=", "RestartPreventExitStatus=2"):
        assert line in unit


def test_readme_deployment_matches_the_unit() -> None:
    """Every path, credential and command of the unit appears in the README's deployment section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Deployment with systemd", 1)[1].split("\n## ", 1)[0]
    unit = UNIT.read_text(encoding="utf-8")
    wanted = set(re.findall(r"(/(?:etc|var|usr)/[\w./-]+)", unit))
    wanted |= {f"LoadCredential={c}" for c in re.findall(r"^LoadCredential=(\S+)", unit, re.M)}
    wanted |= {f'password_credential = "{c.split(":")[0]}"' for c in re.findall(r"^LoadCredential=(\S+)", unit, re.M)}
    wanted |= {"useradd", "systemctl daemon-reload", "systemctl enable --now mailbridge", "mailbridge status"}
    missing = sorted(w for w in wanted if w not in section)
    assert not missing, f"README's deployment section lacks: {missing}"
