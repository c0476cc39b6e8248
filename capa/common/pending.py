"""Uploads kept for the person who sent them while their form is refused or waits for a confirmation.

A kept upload lies in ``<UPLOAD_FOLDER>/pending/<kind>/<owner id>/`` under an unguessable token, for a day at
most; only its owner can name it (another owner's token finds nothing), and uploads older than a day, of every
owner, are removed on the way. Kinds keep their uploads apart (a previewed import, a lab report's PDF). The
bytes are written before the name, so a half-kept upload is never found.
"""

import contextlib
import json
import re
import secrets
import time
from datetime import timedelta
from pathlib import Path

from flask import current_app

from capa.common import files

#: How long a kept upload waits.
LIFETIME = timedelta(days=1)
#: What ``secrets.token_urlsafe(24)`` gives: nothing else is ever used as a file name.
TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
KIND = re.compile(r"[a-z][a-z-]{0,30}")


def keep(kind: str, owner_id: int, data: bytes, filename: str) -> str:
    """Keep ``data`` (sent as ``filename``) for ``owner_id``; its token. Raises StorageRefused (503) naming
    ``file`` when the disk refuses it (full, not writable); nothing of it is kept then."""
    _expire(kind)
    folder = _folder(kind, owner_id)
    token = secrets.token_urlsafe(24)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{token}.data").write_bytes(data)
        (folder / f"{token}.json").write_text(json.dumps({"name": filename[:200]}), encoding="utf-8")
    except OSError as error:
        with contextlib.suppress(OSError):
            (folder / f"{token}.data").unlink(missing_ok=True)
        raise files.refused("file", error) from error
    return token


def load(kind: str, owner_id: int, token: str | None) -> tuple[str, bytes] | None:
    """``owner_id``'s kept upload ``token`` (its name and bytes), or None: malformed, unknown, expired, another's."""
    if not isinstance(token, str) or not TOKEN.fullmatch(token):
        return None
    folder = _folder(kind, owner_id)
    try:
        data_path = folder / f"{token}.data"
        if data_path.stat().st_mtime < time.time() - LIFETIME.total_seconds():
            return None
        name = json.loads((folder / f"{token}.json").read_text(encoding="utf-8"))["name"]
        return str(name), data_path.read_bytes()
    except (OSError, ValueError, KeyError, TypeError):
        return None


def discard(kind: str, owner_id: int, token: str | None) -> None:
    if isinstance(token, str) and TOKEN.fullmatch(token):
        folder = _folder(kind, owner_id)
        (folder / f"{token}.data").unlink(missing_ok=True)
        (folder / f"{token}.json").unlink(missing_ok=True)


def _expire(kind: str) -> None:
    oldest = time.time() - LIFETIME.total_seconds()
    root = _root(kind)
    if not root.is_dir():
        return
    for path in root.glob("*/*"):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < oldest:
                path.unlink(missing_ok=True)


def _root(kind: str) -> Path:
    if not KIND.fullmatch(kind):
        raise ValueError(f"not a kind of pending upload: {kind!r}")
    return Path(current_app.config["UPLOAD_FOLDER"]) / "pending" / kind


def _folder(kind: str, owner_id: int) -> Path:
    return _root(kind) / str(int(owner_id))
