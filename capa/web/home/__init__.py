"""The landing page: what needs the user's attention."""
