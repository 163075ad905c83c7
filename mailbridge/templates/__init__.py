"""Jinja2 templates of everything a person reads (Simplified Chinese); shipped inside the package."""
