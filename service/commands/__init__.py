"""Click commands defined outside service/cli.py, listed explicitly (an import error is loud)."""

from ionbase.service.commands.analysis_cmds import arrhenius, eis
from ionbase.service.commands.export_cmds import export
from ionbase.service.commands.keys_cmds import keys

COMMANDS: list = [eis, arrhenius, export, keys]
