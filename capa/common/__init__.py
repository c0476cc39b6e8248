"""Building blocks shared by every area: column types, errors, typed commands, units of work."""
