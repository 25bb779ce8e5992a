"""Intake: the citizen side — create and track complaints."""
