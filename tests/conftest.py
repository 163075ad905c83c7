"""Shared pytest fixtures: real servers live in tests/support/."""
pytest_plugins = ["support.fixtures"]
