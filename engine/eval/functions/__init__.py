"""Policy functions, one small module per family, registered by name."""
