"""Promise actuators, one module per promise type."""
