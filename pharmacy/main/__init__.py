"""Role home pages."""
