"""Pages of the weekly trend summaries."""
