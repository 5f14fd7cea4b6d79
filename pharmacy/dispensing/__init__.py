"""The dispensing area."""
