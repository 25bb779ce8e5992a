"""Shared kernel of Aduan: what more than one service needs, and nothing service-specific."""
