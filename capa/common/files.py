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

A storage that refuses a file (a full disk, a folder the app may not write to, a lost mount: any OSError of the
backend's ``save``) refuses the step that stores it with :class:`StorageRefused`, 503, naming the field the file
came in (``photos``, ``files``, ``pdf``): the step's unit of work rolls back, so nothing of it is written, and the
same request may be sent again unchanged once the storage takes files again. 503 rather than 400: nothing in the
request is wrong, and a client keeps what it sent and retries (the phone's outbox does, for any 5xx).
"""

import contextlib
import errno
import os
import re
import uuid
from pathlib import Path
from typing import Protocol

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from capa.common.errors import DomainError, NotFound
from capa.extensions import db

#: What a key looks like: 32 hexadecimal digits and an optional short suffix (``.pdf``).
KEY = re.compile(r"[0-9a-f]{32}(\.[a-z0-9]{1,8})?")
SUFFIX = re.compile(r"(\.[a-z0-9]{1,8})?")
#: Where the session keeps the keys of files saved, and of files to delete, in its open transaction.
_SAVED = "capa.files.saved"
_DOOMED = "capa.files.doomed"
#: The errors of a disk with no room left for the file.
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


class StorageRefused(DomainError):
    """The storage refused to keep a file: the step is refused whole (503, ``storage_unavailable``), its field named;
    the request was right and may be sent again as it is."""

    status = 503
    code = "storage_unavailable"


def refused(field: str, error: OSError) -> StorageRefused:
    """The refusal of a step whose file, sent in ``field``, the storage refused with ``error`` (logged for the
    administrator, with the path and reason the person sending it is not told)."""
    current_app.logger.error("The file storage refused a file sent in %s: %s", field, error)
    if error.errno in _FULL:
        message = _l(
            "The server's disk is full, so the file could not be stored; nothing was saved. Send it again later, "
            "or tell your administrator."
        )
    else:
        message = _l(
            "The server could not store the file (its storage refused it); nothing was saved. Send it again "
            "later, or tell your administrator."
        )
    return StorageRefused(str(message), fields={field: str(message)})


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
        """Raises OSError when the folder cannot be made or written to (nothing is left of the file then)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / f".{key}.{uuid.uuid4().hex}.part"
        try:
            partial.write_bytes(data)
            os.replace(partial, self.folder / key)
        finally:
            # A folder that cannot be written to holds no partial file either.
            with contextlib.suppress(OSError):
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


def save(data: bytes, suffix: str = "", *, field: str = "file") -> str:
    """Store ``data`` under a new key ending in ``suffix`` (``.pdf``) and answer the key.

    Saved during the session's transaction, the file is deleted again if that transaction rolls back. Raises
    StorageRefused (503) naming ``field``, the field the file was sent in, when the storage refuses it (OSError)."""
    suffix = suffix.lower()
    if not SUFFIX.fullmatch(suffix):
        raise ValueError(f"Not a file suffix: {suffix!r}")
    key = uuid.uuid4().hex + suffix
    session = db.session()  # the Session itself, not its scoped proxy
    if not session.in_transaction():
        session.begin()  # so that the rollback of a block that ran no SQL yet still removes the file
    try:
        backend().save(key, data)
    except OSError as error:
        raise refused(field, error) from error
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
