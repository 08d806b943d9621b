"""``python -m pipeline.report OUT``: see ``pipeline.report.cli``."""
import sys

from .cli import main

sys.exit(main())
