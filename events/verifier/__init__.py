"""The offline verifier of bundles and checkpoints: the standard library and `cryptography` only."""
