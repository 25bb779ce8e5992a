"""Routing's shared answers. The agency as the directory shows it lives with the directory."""

from routing.directory.schemas import AgencyContacts, AgencyOut

__all__ = ["AgencyContacts", "AgencyOut"]
