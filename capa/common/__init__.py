"""Building blocks shared by every area: column types, errors, validation, units of work."""
