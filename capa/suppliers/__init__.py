"""Suppliers judged by their records: scorecards and the approval decisions taken on them."""
