"""Routing: verification, disposition to the responsible agency, the agency directory."""
