"""The default rule book, shipped in the wheel as the package ``escalation.defaults``."""
