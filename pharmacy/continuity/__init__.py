"""Continuity pages: the follow-up list, its CSV export and renewals (SPEC 7.5, 7.6)."""
