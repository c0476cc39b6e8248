"""Accounts: users, their roles, API tokens, and the one policy that says which role may do what."""
