"""CLI commands, grouped by the stage they drive; `cli.LAZY` names each one."""
