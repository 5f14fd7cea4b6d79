"""The compounding area."""
