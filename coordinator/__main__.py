"""`python -m coordinator` runs the command line."""

import sys

from coordinator.cli.entry import main

sys.exit(main())
