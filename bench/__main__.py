"""`uv run python -m bench [scenario ...] [--quick] [--runs K]`: see bench/cli.py."""

import sys

from bench.cli import main

sys.exit(main())
