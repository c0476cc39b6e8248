"""Pages of the master data: lines, suppliers, styles, batches."""
