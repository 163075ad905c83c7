"""The words of scorecards and bulletins: templates/score/ (Jinja2, Simplified Chinese), which an
admin may override by file name from [templates] dir like every other template."""
from __future__ import annotations

from typing import Any

import jinja2

from mailbridge.config import Config
from mailbridge.errors import ConfigError
from mailbridge.render import environment, render

__all__ = ["render", "words"]


# A template module: its `{% set %}` values and macros as attributes (Jinja gives them no types).
Words = Any


def words(config: Config, name: str = "score/labels.j2") -> Words:
    """A template's top-level `{% set %}` values and macros (headers, titles, phrases)."""
    try:
        return environment(config.templates.dir).get_template(name).module
    except jinja2.TemplateNotFound:
        raise ConfigError(f"template {name} not found; it ships with mailbridge, so check [templates] dir.") from None
    except jinja2.TemplateError as exc:
        where = f"{exc.filename}:{exc.lineno}" if isinstance(exc, jinja2.TemplateSyntaxError) else name
        raise ConfigError(f"template {where} cannot be used: {exc}; fix it or remove the override.") from None
