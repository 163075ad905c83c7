"""Jinja templates: the shipped ones in templates/, overridable by file name from [templates] dir."""
from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import jinja2

from mailbridge.config import Config
from mailbridge.errors import ConfigError


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} 字节"


def one_line(text: object, limit: int = 30) -> str:
    """A sender's text made fit for a Subject line: control, format and separator characters
    (U+2028, NEL, bidi overrides…) become spaces, runs of white space one space, at most `limit`."""
    cleaned = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in str(text or ""))
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1].rstrip() + "…"


def environment(override: Path | None, html: bool = False) -> jinja2.Environment:
    """The templates for text parts (no escaping) or for HTML parts.

    Autoescape is decided per compiled template, so the HTML environment escapes everything it
    compiles, the shared macros (`_receipt.j2`, `_review.j2`) included: a macro compiled for the
    text part would hand a sender's `<script>` to the HTML part as it is.
    """
    return _environment(override, html)


@lru_cache(maxsize=8)
def _environment(override: Path | None, html: bool) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(str(files("mailbridge.templates")))]
    if override is not None:
        loaders.insert(0, jinja2.FileSystemLoader(str(override)))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=html,
        undefined=jinja2.StrictUndefined,  # a misspelt variable in an admin's template fails loudly
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["size"] = human_size
    env.filters["one_line"] = one_line
    return env


def render(config: Config, name: str, **data: object) -> str:
    """Render one template; a broken override is a config error naming the file."""
    try:
        return environment(config.templates.dir, html=name.endswith(".html")).get_template(name).render(**data)
    except jinja2.TemplateNotFound:
        raise ConfigError(f"template {name} not found; it ships with mailbridge, so check [templates] dir.") from None
    except jinja2.TemplateError as exc:
        where = f"{exc.filename}:{exc.lineno}" if isinstance(exc, jinja2.TemplateSyntaxError) else name
        raise ConfigError(f"template {where} cannot be rendered: {exc}; fix it or remove the override.") from None


def render_mail(config: Config, stem: str, **data: object) -> tuple[str, str, str]:
    """(subject, text, html) from STEM.subject.txt, STEM.txt and STEM.html."""
    subject = " ".join(render(config, f"{stem}.subject.txt", **data).split())
    return subject, render(config, f"{stem}.txt", **data), render(config, f"{stem}.html", **data)


def check_templates(config: Config, compile_all: bool = True) -> int:
    """Compile every template (shipped and overrides), so a broken one stops a start, not a mail.

    Without `compile_all` they are only parsed: the same syntax errors, in a third of the time
    (`check-config` stays quick).
    """
    env = environment(config.templates.dir)
    names = [n for n in env.list_templates() if n.endswith((".txt", ".html", ".j2"))]
    loader = env.loader
    assert loader is not None  # environment() always sets one
    for name in names:
        try:
            if compile_all:
                env.get_template(name)
            else:
                env.parse(*loader.get_source(env, name)[:2])
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(f"template {exc.filename or name}:{exc.lineno} has a syntax error: {exc.message}; "
                              "fix it or remove the override.") from None
    return len(names)
