"""The tamper-evident record: the Merkle log, signing keys, checkpoints, bundles and export."""
