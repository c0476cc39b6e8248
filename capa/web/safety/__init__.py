"""Pages of the safety catalog: parameters, limits, quality plans, lab results."""
