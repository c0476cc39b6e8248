"""Master data: production lines, suppliers, styles, and batches traced to the material lots in them."""
