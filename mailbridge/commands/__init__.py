"""CLI commands, grouped by the stage they drive; `cli.LAZY` names each one.

Imports: any stage and the service (commands sit at the top, under `cli`); `mailbridge.app.App`
is the object each command is handed. Nothing but `cli` imports commands.
"""
