"""Click commands defined outside service/cli.py, listed explicitly (an import error is loud)."""

from service.commands.analysis_cmds import arrhenius, eis
from service.commands.export_cmds import export
from service.commands.keys_cmds import keys

COMMANDS: list = [eis, arrhenius, export, keys]
