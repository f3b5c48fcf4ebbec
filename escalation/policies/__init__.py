"""Rules model and decision functions: pure, no I/O, no clock."""
