"""CLI commands, grouped by the stage they drive; `cli.py` registers their COMMANDS."""
