"""The operations console: a Textual view over ``engine.inspect``.

Nothing under ``engine/`` imports this package; ``vigil console`` imports it lazily.
"""
