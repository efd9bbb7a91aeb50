"""Kept for importers not yet moved: the atomic write is :mod:`engine.atomicwrite`."""

from engine.atomicwrite import write_atomic

__all__ = ["write_atomic"]
