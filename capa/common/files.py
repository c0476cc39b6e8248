"""The app's file storage: documents kept for records (a lab report's PDF), under names the app chooses.

Three functions are all a record needs: :func:`save` the bytes and get a key back, :func:`read` them by that key,
:func:`delete` them. The key is what a record stores (``lab_reports.pdf_key``); it is random, never a name a
client sent, and it is the only path ever built from: a key that does not have a key's exact shape is unknown.

Files follow the database transaction they are saved in, so that no file outlives a record that was never
stored and no record names a file that is gone:

- a file saved while a transaction is open is deleted again when that transaction rolls back (a refused record,
  a failed commit), so no orphan remains;
- a file replaced by another (:func:`delete_after_commit`) is deleted only once the transaction that stops
  naming it has committed, so a failed change keeps the old file its record still names.

The files lie in a local folder, ``<UPLOAD_FOLDER>/files``. Another backend (S3, say) can be put behind the same
functions: an object with ``save``, ``read`` and ``delete`` set as ``app.extensions["capa.files"]``.
"""

import os
import re
import uuid
from pathlib import Path
from typing import Protocol

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from capa.common.errors import NotFound
from capa.extensions import db

#: What a key looks like: 32 hexadecimal digits and an optional short suffix (``.pdf``).
KEY = re.compile(r"[0-9a-f]{32}(\.[a-z0-9]{1,8})?")
SUFFIX = re.compile(r"(\.[a-z0-9]{1,8})?")
#: Where the session keeps the keys of files saved, and of files to delete, in its open transaction.
_SAVED = "capa.files.saved"
_DOOMED = "capa.files.doomed"


class Backend(Protocol):
    """Where the bytes are kept: the local folder, or another store behind the same three calls."""

    def save(self, key: str, data: bytes) -> None: ...

    def read(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


class LocalFolder:
    """Files in one folder of the local disk, each written whole (to a temporary name, then renamed)."""

    def __init__(self, folder: Path):
        self.folder = folder

    def save(self, key: str, data: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / f".{key}.{uuid.uuid4().hex}.part"
        try:
            partial.write_bytes(data)
            os.replace(partial, self.folder / key)
        finally:
            partial.unlink(missing_ok=True)

    def read(self, key: str) -> bytes:
        return (self.folder / key).read_bytes()

    def delete(self, key: str) -> None:
        (self.folder / key).unlink(missing_ok=True)


def backend() -> Backend:
    """The storage this app uses: the one set in ``app.extensions["capa.files"]``, else the local folder."""
    chosen = current_app.extensions.get("capa.files")
    if chosen is not None:
        return chosen
    return LocalFolder(Path(current_app.config["UPLOAD_FOLDER"]) / "files")


def save(data: bytes, suffix: str = "") -> str:
    """Store ``data`` under a new key ending in ``suffix`` (``.pdf``) and answer the key.

    Saved during the session's transaction, the file is deleted again if that transaction rolls back."""
    suffix = suffix.lower()
    if not SUFFIX.fullmatch(suffix):
        raise ValueError(f"Not a file suffix: {suffix!r}")
    key = uuid.uuid4().hex + suffix
    session = db.session()  # the Session itself, not its scoped proxy
    if not session.in_transaction():
        session.begin()  # so that the rollback of a block that ran no SQL yet still removes the file
    backend().save(key, data)
    session.info.setdefault(_SAVED, []).append(key)
    return key


def read(key: str) -> bytes:
    """The bytes stored under ``key``; raises NotFound for a key that is malformed or names no file."""
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise _missing()
    try:
        return backend().read(key)
    except FileNotFoundError:
        raise _missing() from None


def delete(key: str) -> None:
    """Remove the file stored under ``key`` now (nothing happens for a key that names no file)."""
    if isinstance(key, str) and KEY.fullmatch(key):
        backend().delete(key)


def delete_after_commit(key: str) -> None:
    """Remove the file under ``key`` once the session's transaction commits; kept if it rolls back."""
    if key:
        db.session.info.setdefault(_DOOMED, []).append(key)


def _missing() -> NotFound:
    return NotFound(str(_l("The stored file is missing.")), fields={"file": "unknown"})


def _forget(session: Session) -> tuple[list[str], list[str]]:
    return session.info.pop(_SAVED, []), session.info.pop(_DOOMED, [])


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    _saved, doomed = _forget(session)
    for key in doomed:
        _quietly_delete(key)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is not None:
        return  # a savepoint: the transaction the files belong to goes on
    saved, _doomed = _forget(session)
    for key in saved:
        _quietly_delete(key)


def _quietly_delete(key: str) -> None:
    """Delete a file after its transaction ended; a storage that fails now must not undo what was committed."""
    try:
        delete(key)
    except OSError:  # pragma: no cover - a full disk or a lost mount: the file is left, the record is right
        current_app.logger.warning("Could not delete stored file %s", key, exc_info=True)
