"""Tamper evidence for every history the app keeps: entries chained by hash, and the check that proves them."""
