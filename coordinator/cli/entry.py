"""The `coordinator` console script: offline verification first, everything else by the full CLI.

`coordinator audit verify FILE` must run where only Python and `cryptography` are installed, so it
is recognised here, before `coordinator.cli.main` (which imports the service, aiohttp and asyncpg).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from coordinator.cli.audit_commands import offline_arguments, run_offline


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    offline = offline_arguments(arguments)
    if offline is not None:
        return run_offline(offline)
    from coordinator.cli.main import main as full_command_line  # noqa: PLC0415  see module doc

    return full_command_line(arguments)


if __name__ == "__main__":
    sys.exit(main())
