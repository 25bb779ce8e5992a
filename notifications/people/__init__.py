"""Notifications to people: reporters, followers and agency staff, by email, push and SMS."""
