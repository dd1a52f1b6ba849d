"""The `coordinator` command line: serve, migrate, tokens, audit, backup, import and rebuilds."""
