"""Pages of the CAPA workflow: filing, the NC page with its 8D steps, lists, reports, defect types.

The views live in ``views.py`` (whose blueprint ``capas`` they all share) and in modules of their own that add
routes to it, imported here so that the blueprint is complete wherever it is imported from.
"""

# The 8D report's routes, the helpers the NC page and the report read signatures with, and the import of earlier
# NCs from spreadsheets.
from capa.web.capas import imports, report, signatures  # noqa: F401
