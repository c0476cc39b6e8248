"""Demo data at a factory group's scale (``flask --app capa demo-data``): generated, reproducible, written in
bulk. Sits above the domain packages it fills; only the command line uses it."""
