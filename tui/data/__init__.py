"""The console's data side: reads through ``engine.inspect``, actions through the engine.

Nothing here imports Textual, so it can run in thread workers and in benchmarks.
"""
