"""Accounts and credentials: citizens and staff (passwords, access and refresh tokens, TOTP) and
the API keys of systems. The gateway owns these tables; the services only see the Principal."""
