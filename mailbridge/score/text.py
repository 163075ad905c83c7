"""The words of scorecards and bulletins come from templates/score/ (Jinja2, Simplified Chinese)."""
from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from typing import Any

import jinja2


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(files("mailbridge.templates"))),
        autoescape=False,  # plain text for the terminal, cells and Word runs, never HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **data: Any) -> str:
    return environment().get_template(name).render(**data)


def words(name: str = "score/labels.j2") -> Any:
    """A template's top-level `{% set %}` values and macros (headers, titles, phrases)."""
    return environment().get_template(name).module
