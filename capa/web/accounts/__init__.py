"""Pages of the accounts area: logging in and out, users."""
