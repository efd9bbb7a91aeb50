"""Long-running daemons: execd, monitord, serverd, and their supervisor."""
