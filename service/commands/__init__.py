"""Click commands defined outside service/cli.py, listed explicitly."""

COMMANDS: list = []
