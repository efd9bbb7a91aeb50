"""Evaluation: context, expansion, class expressions, functions, hard classes."""
