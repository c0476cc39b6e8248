"""Uploads kept for the person who sent them while their form is refused or waits for a confirmation.

A kept upload lies in the app's file storage (:mod:`capa.common.files`: the upload folder, or the object store
that every web host shares, so that a preview made on one host is confirmed on another) under
``pending/<kind>/<owner id>/`` with an unguessable token, for a day at most; only its owner can name it (another
owner's token finds nothing), and uploads older than a day, of every owner, are removed on the way. Kinds keep
their uploads apart (a previewed import, a lab report's PDF). The bytes are written before the name, so a
half-kept upload is never found.
"""

import contextlib
import json
import re
import secrets
import time
from datetime import timedelta

from flask import current_app

from capa.common import files

#: How long a kept upload waits.
LIFETIME = timedelta(days=1)
#: What ``secrets.token_urlsafe(24)`` gives: nothing else is ever used as a file name.
TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
KIND = re.compile(r"[a-z][a-z-]{0,30}")


def keep(kind: str, owner_id: int, data: bytes, filename: str) -> str:
    """Keep ``data`` (sent as ``filename``) for ``owner_id``; its token. Raises StorageRefused (503) naming
    ``file`` when the storage refuses it (a full or unwritable disk, an object store out of reach); nothing of it
    is kept then."""
    store = files.backend()
    token = secrets.token_urlsafe(24)
    base = f"{_folder(kind, owner_id)}/{token}"
    try:
        _expire(kind)
        store.save(f"{base}.data", data)
        store.save(f"{base}.json", json.dumps({"name": filename[:200]}).encode())
    except OSError as error:
        with contextlib.suppress(OSError):
            store.delete(f"{base}.data")
        raise files.refused("file", error) from error
    return token


def load(kind: str, owner_id: int, token: str | None) -> tuple[str, bytes] | None:
    """``owner_id``'s kept upload ``token`` (its name and bytes), or None: malformed, unknown, expired, another's.
    Raises StorageRefused (503, naming ``file``) when the storage cannot give it back for now."""
    if not isinstance(token, str) or not TOKEN.fullmatch(token):
        return None
    store = files.backend()
    base = f"{_folder(kind, owner_id)}/{token}"
    try:
        with store.open(f"{base}.data") as kept:
            if kept.modified < time.time() - LIFETIME.total_seconds():
                return None
            data = kept.stream.read()
        name = json.loads(store.open(f"{base}.json").read())["name"]
    except FileNotFoundError:
        return None
    except OSError as error:
        raise files.unreadable(error) from error
    except (ValueError, KeyError, TypeError):
        return None
    return str(name), data


def discard(kind: str, owner_id: int, token: str | None) -> None:
    """Remove ``owner_id``'s kept upload ``token``; a storage that fails now leaves it to expire."""
    if isinstance(token, str) and TOKEN.fullmatch(token):
        store = files.backend()
        base = f"{_folder(kind, owner_id)}/{token}"
        try:
            store.delete(f"{base}.data")
            store.delete(f"{base}.json")
        except OSError:
            current_app.logger.warning("Could not remove a kept upload; it expires in a day", exc_info=True)


def _expire(kind: str) -> None:
    """Remove every kept upload of ``kind`` older than LIFETIME; raises OSError when the storage fails."""
    oldest = time.time() - LIFETIME.total_seconds()
    store = files.backend()
    for path, modified in list(store.walk(_root(kind))):
        if modified < oldest:
            store.delete(path)


def _root(kind: str) -> str:
    if not KIND.fullmatch(kind):
        raise ValueError(f"not a kind of pending upload: {kind!r}")
    return f"pending/{kind}"


def _folder(kind: str, owner_id: int) -> str:
    return f"{_root(kind)}/{int(owner_id)}"
