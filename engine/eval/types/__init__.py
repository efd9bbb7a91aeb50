"""Evaluation-level promise types: ``vars``, ``classes``, ``meta`` and ``defaults``.

They bind names (variables, classes, tags) in the evaluator's context and act on
nothing outside it, so they live beside the evaluator (as CFEngine keeps
``verify_vars.c`` beside ``expand.c``); ``engine.promises`` holds the actuators.
"""
