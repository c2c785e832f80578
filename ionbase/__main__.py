"""``python -m ionbase`` runs the command line (the same as the ``ionbase`` script)."""

from ionbase.service.cli import main

main()
