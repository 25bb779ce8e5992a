"""Attachments: files of a complaint's reporter and of the agencies' follow-ups."""
