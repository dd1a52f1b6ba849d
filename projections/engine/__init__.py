"""The projection machinery: the runner, its checkpoints, and rebuilds by several processes."""
