"""The service's shell: recording and reading operations, tokens, privacy, audit, import, backup."""
