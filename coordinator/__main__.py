"""`python -m coordinator` runs the command line."""

import sys

from coordinator.cli import main

sys.exit(main())
