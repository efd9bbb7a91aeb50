"""Subcommands of the vigil CLI; each exposes add_arguments(parser) and run(args) -> int."""
