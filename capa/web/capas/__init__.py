"""Pages of the CAPA workflow: filing, the NC page with its 8D steps, lists, reports, defect types."""
