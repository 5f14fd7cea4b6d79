"""Sign-in, roles and access control."""
