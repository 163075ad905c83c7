"""The house rules a machine can check: imports flow one way, no package reaches into another's
private names, every config path resolves itself, and shared readers behave the same for all."""
from __future__ import annotations

import ast
import logging
import subprocess
import sys
import types
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from mailbridge import config as config_mod
from mailbridge.parse import documents
from mailbridge.parse.tables import ROSTER, grids, roster_header
from mailbridge.review import sheet

PACKAGE = Path(config_mod.__file__).parent
ROOT = PACKAGE.parent


def test_imports_flow_one_way() -> None:
    """The layers in pyproject.toml's [tool.importlinter] hold (import-linter reads the code; in a
    process of its own, since it reconfigures logging)."""
    done = subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache",
                           "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout


def _imports(path: Path) -> typing.Iterator[tuple[int, str, str]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mailbridge."):
            for alias in node.names:
                yield node.lineno, node.module, alias.name


def test_no_package_imports_another_packages_private_names() -> None:
    offences = []
    for path in PACKAGE.rglob("*.py"):
        own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for line, module, name in _imports(path):
            theirs = module.split(".")[1]
            if theirs != own and name.startswith("_") and not name.startswith("__"):
                offences.append(f"{path.relative_to(ROOT)}:{line} imports {module}.{name}")
    assert offences == []


def _path_fields(model: type[BaseModel], where: str = "") -> typing.Iterator[tuple[str, bool]]:
    """(dotted key, whether it resolves against the config folder) of every Path field."""
    for name, info in model.model_fields.items():
        union = typing.get_origin(info.annotation) in (typing.Union, types.UnionType)
        args = typing.get_args(info.annotation) if union else (info.annotation,)
        for arg in args:
            inner = typing.get_args(arg)[0] if typing.get_origin(arg) in (list, typing.Annotated) else arg
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                yield from _path_fields(inner, f"{where}{name}{'[]' if typing.get_origin(arg) is list else ''}.")
            elif inner is Path:
                metadata = [*info.metadata, *getattr(arg, "__metadata__", ())]
                yield f"{where}{name}", any(getattr(m, "func", None) is config_mod._from_config_folder
                                            for m in metadata)


def test_every_path_in_the_config_resolves_against_the_config_folder() -> None:
    """A Path field must carry the resolving type (ConfigPath): a plain Path would silently be
    taken from the working directory."""
    fields = dict(_path_fields(config_mod.Config))
    assert {"storage.dir", "smtp.dir", "smtp.password_file", "mailboxes[].password_file", "templates.dir"} <= set(fields)
    assert [name for name, resolves in fields.items() if not resolves and name != "source"] == []


def test_default_and_written_paths_both_resolve(tmp_path: Path) -> None:
    base = tmp_path / "etc"
    config = config_mod.from_dict({"smtp": {"dir": "out"}, "templates": {"dir": "~/tpl"},
                                   "mailboxes": [{"name": "a", "host": "h", "username": "u@x.cn",
                                                  "password_file": "secret"}]}, base=base)
    assert config.storage.dir == base / "var/store"  # a default, the [storage] table absent
    assert config.smtp.dir == base / "out"
    assert config.templates.dir == Path("~/tpl").expanduser()
    assert config.mailboxes[0].password_file == base / "secret"
    assert config.database.url == f"sqlite:///{base}/var/mailbridge.db"
    assert config_mod.from_dict({"scoring": {"profile": "mine.toml"}}, base=base).scoring.profile == str(base / "mine.toml")
    assert config_mod.from_dict({"scoring": {"profile": "jinshui"}}, base=base).scoring.profile == "jinshui"


def test_a_bug_in_a_reader_keeps_the_flag_and_logs_the_traceback(monkeypatch: pytest.MonkeyPatch,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    def broken(data: bytes) -> None:
        raise ZeroDivisionError("a bug of ours")

    monkeypatch.setattr(documents, "_from_text", broken)
    with caplog.at_level(logging.WARNING, logger="mailbridge.parse.documents"):
        result = documents.extract("稿件.txt", b"text", 1024 * 1024)
    assert {"no_text", "unreadable"} <= result.flags
    assert "'稿件.txt' could not be read" in caplog.text
    assert "Traceback" in caplog.text and "ZeroDivisionError: a bug of ours" in caplog.text


@pytest.mark.parametrize("cell", ["编号(必填)", "编号（必填）", " 编 号 ", "编号*"])
def test_one_header_rule_for_rosters_and_adoption_sheets(cell: str) -> None:
    """A note in brackets, full-width or not, spaces and stars: read the same in both tables."""
    grid = [["2024年9月信息采用登记表"], ["序号", cell, "采用渠道"]]
    assert sheet._COLUMNS.find_header(grid, sheet._is_header) == (1, {"ref": 1, "channel": 2})
    roster = [["序号", "单位（部门）", cell.replace("编", "电子信").replace("号", "箱")]]
    assert ROSTER.find_header(roster, roster_header) == (0, {"unit": 1, "email": 2})


def test_an_adoption_sheet_may_be_a_csv_file() -> None:
    data = "回执号,采用渠道,采用日期\nSMX-2024-09-0001,官网,2024-09-12\n".encode("gb18030")
    ((_, grid),) = [g for g in grids("采用登记.csv", data) if sheet._COLUMNS.find_header(g[1], sheet._is_header)][:1]
    assert grid[1][:2] == ["SMX-2024-09-0001", "官网"]


def test_the_example_shows_the_seed_defaults_as_the_code_has_them() -> None:
    """The seed's unit types and category rules are the code's defaults (config.py) and are shown
    in config.example.toml for the admin to edit: the two must not drift apart."""
    example = config_mod.load(ROOT / "config.example.toml")
    assert example.unit_types == config_mod.SANMENXIA_TYPES
    assert example.categories == config_mod.DEFAULT_CATEGORIES
