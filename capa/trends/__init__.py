"""Weekly trend summaries: what went wrong more often, where, which safety parameters are at risk."""
