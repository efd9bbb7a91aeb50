"""Persistent state in LMDB (locks, persistent classes, monitor) and run reports."""
