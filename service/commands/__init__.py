"""Click commands defined outside service/cli.py, listed explicitly (an import error is loud)."""

from service.commands.analysis_cmds import arrhenius, eis

COMMANDS: list = [eis, arrhenius]
