"""Pure domain logic shared by more than one service (no I/O here)."""
