"""The CMIA safety parameters: the catalog of limits, the judging of lab results, and quality plans."""
