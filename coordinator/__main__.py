"""`python -m coordinator` runs the command line."""

import sys

from coordinator.entry import main

sys.exit(main())
