"""The formulary area."""
