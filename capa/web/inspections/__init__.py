"""Pages of inspections: the ISO 2859-1 sampling plan of a lot."""
