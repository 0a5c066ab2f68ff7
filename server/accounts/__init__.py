"""Accounts: registration, login, tokens, roles, administration, rate limits and the audit log."""
