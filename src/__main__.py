"""`python -m adl_runner ...` is the `run` command."""

import sys

from adl_runner.runner.cli import main

sys.exit(main())
