"""Back office: users, settings, API tokens, audit trail."""
