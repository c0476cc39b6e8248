"""Which Chromium the browser tests drive: Debian's (``apt-get install -y chromium``), or the one named by
``CAPA_CHROMIUM``. Test tools never download a browser here."""

import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("CAPA_CHROMIUM") or "/usr/bin/chromium")
#: Why the browser tests cannot run, or None when they can.
MISSING = (
    None
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)
    else f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium` to run the browser tests"
)
