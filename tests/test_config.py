"""Config: the example documents every key, and each mistake is one sentence naming the key."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from mailbridge import config as config_mod
from mailbridge.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config.example.toml"


def _fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        key = field.alias or name
        annotation = field.annotation
        inner = getattr(annotation, "__args__", (annotation,))
        nested = [a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)]
        if nested:
            out += _fields(nested[0], f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}")
    return out


def test_example_loads_and_documents_every_key() -> None:
    config = config_mod.load(EXAMPLE)
    assert config.mailboxes[0].name == "smxskx"
    text = EXAMPLE.read_text(encoding="utf-8")
    missing = [key for key in _fields(config_mod.Config)
               if not re.search(rf"^#?\s*{re.escape(key.rsplit('.', 1)[-1])}\s*=", text, re.M)]
    assert missing == []


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[database]\nurll = "x"\n', "unknown key 'database.urll'"),
        ('[[mailboxes]]\nname = "a"\nhost = "h"\nusername = "u"\npasword_env = "X"\n',
         "unknown key 'mailboxes[0].pasword_env'"),
        ('[[mailboxes]]\nname = "a"\nhost = "h"\n', "missing key 'mailboxes[0].username'"),
        ('[[mailboxes]]\nname = "a"\nhost = "h"\nusername = "u"\nsecurity = "tls"\n', "key 'mailboxes[0].security'"),
        ('[ingest]\ntimezone = "Mars/Base"\n', "unknown time zone"),
        ('[schedule]\npoll_interval_seconds = "soon"\n', "key 'schedule.poll_interval_seconds'"),
        ('[database\n', "not valid TOML"),
    ],
)
def test_mistakes_name_the_key(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_mod.load(_write(tmp_path, body))
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


def test_relative_paths_follow_the_config_file(tmp_path: Path) -> None:
    config = config_mod.load(_write(tmp_path, '[database]\nurl = "sqlite:///db/x.db"\n[storage]\ndir = "st"\n'))
    assert config.database.url == f"sqlite:///{tmp_path}/db/x.db"
    assert config.storage.dir == tmp_path / "st"


def test_secret_never_in_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "hunter2-授权码"
    monkeypatch.setenv("MB_TEST_PW", secret)
    body = f'[[mailboxes]]\nname = "a"\nhost = "h"\nusername = "u"\npassword_env = "MB_TEST_PW"\nport = "{secret}"\n'
    with pytest.raises(ConfigError) as info:
        config_mod.load(_write(tmp_path, body))
    assert "port" in str(info.value)
    path = _write(tmp_path, '[[mailboxes]]\nname = "a"\nhost = "h"\nusername = "u"\npassword_env = "MB_TEST_PW"\n')
    done = subprocess.run([sys.executable, "-m", "mailbridge", "-c", str(path), "check-config"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert secret not in done.stdout + done.stderr


def test_cli_exit_code_2_names_the_key(tmp_path: Path) -> None:
    path = _write(tmp_path, '[smtp]\ntransprt = "file"\n')
    done = subprocess.run([sys.executable, "-m", "mailbridge", "-c", str(path), "check-config"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "smtp.transprt" in done.stderr
    assert "Traceback" not in done.stderr
