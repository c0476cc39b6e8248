"""The app's file storage: every file the app keeps goes through it, under names the app chooses.

What is kept, each kind in its folder of the storage:

- photos of defects (``Photo.stored_name``), at the storage's top (:data:`PHOTOS`, where they always lay);
- evidence files and lab reports' PDFs (``Attachment.key``, ``LabReport.pdf_key``) in ``files/`` (:data:`FILES`);
- uploads kept for the person who sent them while their form is refused or waits for its confirmation
  (:mod:`capa.common.pending`, :mod:`capa.capas.pending_photos`) in ``pending/``, a day at most.

No other file is written by the app (the weekly summaries, their charts and the exports live in the database or
are made on request). Every web host and the scheduler must therefore see the same storage: one folder, or one
object store.

Two backends hold the files, chosen by ``CAPA_STORAGE_URL``:

- unset: the local folder ``<instance>/uploads`` (UPLOAD_FOLDER), each file written whole (a hidden temporary
  name, then renamed), :class:`LocalFolder`;
- ``s3://bucket`` or ``s3://bucket/prefix``: an S3-compatible object store (AWS S3, MinIO, Ceph…), reached at
  ``CAPA_S3_ENDPOINT_URL`` (AWS itself when unset) with ``CAPA_S3_ACCESS_KEY_ID``, ``CAPA_S3_SECRET_ACCESS_KEY`` and
  ``CAPA_S3_REGION``, or else boto3's own sources (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
  ``AWS_DEFAULT_REGION``, a role of the host): :mod:`capa.common.object_store`. The objects are named like the
  folder's files (``prefix/files/<key>``, ``prefix/<photo>``), so a folder copied into the bucket under the prefix
  is found as it was.

An object set as ``app.extensions["capa.files"]`` takes the place of both (it has the four calls of
:class:`Backend`). Keys are what records store; a key is random, never a name a client sent, and it is the only
thing a path is ever built from: a key that does not have a key's exact shape is unknown.

Files follow the database transaction they are saved in, so that no file outlives a record that was never
stored and no record names a file that is gone:

- a file saved while a transaction is open is deleted again when that transaction rolls back (a refused record,
  a failed commit), so no orphan remains;
- a file replaced by another (:func:`delete_after_commit`) is deleted only once the transaction that stops
  naming it has committed, so a failed change keeps the old file its record still names.

A storage that refuses a file (a full disk, a folder the app may not write to, a lost mount; an object store that
cannot be reached, refuses the keys, or has no such bucket: any OSError of the backend's ``save``) refuses the
step that stores it with :class:`StorageRefused`, 503, naming the field the file came in (``photos``, ``files``,
``pdf``): the step's unit of work rolls back, so nothing of it is written, and the same request may be sent again
unchanged once the storage takes files again. 503 rather than 400: nothing in the request is wrong, and a client
keeps what it sent and retries (the phone's outbox does, for any 5xx). A storage that cannot give a file back for
the moment answers the same 503 ``storage_unavailable``, naming ``file``; a file that is not there is NotFound.

Reading streams: :func:`open_stored` gives the file as a stream with its size, read in pieces, so that a large
file is never held in memory whole to be served.
"""

import contextlib
import errno
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from capa.common.errors import DomainError, NotFound
from capa.extensions import db

#: What a key looks like: 32 hexadecimal digits and an optional short suffix (``.pdf``).
KEY = re.compile(r"[0-9a-f]{32}(\.[a-z0-9]{1,8})?")
SUFFIX = re.compile(r"(\.[a-z0-9]{1,8})?")
#: The folders of the storage that records name files in: photos of defects lie at its top, where they always
#: lay; evidence files and lab reports' PDFs in ``files``.
PHOTOS = ""
FILES = "files"

#: A PDF starts with its signature and ends with its end-of-file marker, within its last PDF_END_WINDOW bytes (where
#: readers look for it).
PDF_SIGNATURE = b"%PDF-"
PDF_END = b"%%EOF"
PDF_END_WINDOW = 1024
FOLDERS = frozenset({PHOTOS, FILES})
#: Where the session keeps the paths of files saved, and of files to delete, in its open transaction.
_SAVED = "capa.files.saved"
_DOOMED = "capa.files.doomed"
#: The errors of a disk with no room left for the file.
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
#: The settings that choose and reach the object store.
S3_SETTINGS = (
    "CAPA_STORAGE_URL",
    "CAPA_S3_ENDPOINT_URL",
    "CAPA_S3_ACCESS_KEY_ID",
    "CAPA_S3_SECRET_ACCESS_KEY",
    "CAPA_S3_REGION",
)


class StorageRefused(DomainError):
    """The storage refused to keep a file, or cannot give one back for now: the step is refused whole (503,
    ``storage_unavailable``), its field named; the request was right and may be sent again as it is."""

    status = 503
    code = "storage_unavailable"


class StoreFailed(OSError):
    """A call to an object store that failed: the store out of reach, the keys refused, no such bucket, or the
    store's own error (raised by :mod:`capa.common.object_store`, also in the middle of reading a file)."""


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


def unreadable(error: OSError) -> StorageRefused:
    """The answer when the storage cannot give a stored file back for now (logged for the administrator)."""
    current_app.logger.error("The file storage could not give a file back: %s", error)
    message = _l(
        "The server could not read the file from its storage just now; nothing was changed. Try again later, "
        "or tell your administrator."
    )
    return StorageRefused(str(message), fields={"file": str(message)})


@dataclass
class Stored:
    """A stored file opened for reading: its bytes as a stream (read it in pieces, then close it), its size in
    bytes and when it was written (seconds since the epoch)."""

    stream: BinaryIO
    size: int
    modified: float

    def read(self) -> bytes:
        """The whole file, the stream closed after it."""
        with self:
            return self.stream.read()

    def close(self) -> None:
        self.stream.close()

    def __enter__(self) -> "Stored":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


class Backend(Protocol):
    """Where the bytes are kept: the local folder, or an object store behind the same four calls. A path is
    relative, with ``/`` between its parts (``files/<key>``); every call raises OSError when the storage fails."""

    #: Where the files are, as an administrator names it: a folder, ``s3://bucket/prefix``.
    place: str

    def save(self, path: str, data: bytes) -> None:
        """Keep ``data`` under ``path`` whole, or nothing of it (replacing what was there)."""

    def open(self, path: str) -> Stored:
        """The file under ``path``, to be read; FileNotFoundError when there is none."""

    def delete(self, path: str) -> None:
        """Remove the file under ``path``; nothing happens when there is none."""

    def walk(self, folder: str) -> Iterator[tuple[str, float]]:
        """Every file under ``folder`` (``""``: all of them) with when it was written, in the order of their paths."""


class LocalFolder:
    """Files in one folder of the local disk, each written whole (to a hidden temporary name, then renamed)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.place = str(folder)

    def save(self, path: str, data: bytes) -> None:
        """Raises OSError when the folder cannot be made or written to (nothing is left of the file then)."""
        target = self.folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        try:
            partial.write_bytes(data)
            os.replace(partial, target)
        finally:
            # A folder that cannot be written to holds no partial file either.
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)

    def open(self, path: str) -> Stored:
        stream = (self.folder / path).open("rb")
        status = os.fstat(stream.fileno())
        return Stored(stream, status.st_size, status.st_mtime)

    def delete(self, path: str) -> None:
        (self.folder / path).unlink(missing_ok=True)

    def walk(self, folder: str) -> Iterator[tuple[str, float]]:
        """Files being written (names starting with a dot) and links are left out."""
        top = self.folder / folder if folder else self.folder
        if not top.is_dir():
            return
        for place, folders, names in os.walk(top):
            folders[:] = sorted(name for name in folders if not name.startswith("."))
            here = Path(place)
            for name in sorted(names):
                found = here / name
                if name.startswith(".") or found.is_symlink():
                    continue
                try:
                    modified = found.stat().st_mtime
                except FileNotFoundError:
                    continue  # removed meanwhile
                yield found.relative_to(self.folder).as_posix(), modified


def check_settings(config) -> None:
    """Raises ValueError when ``CAPA_STORAGE_URL`` is set but is not ``s3://bucket[/prefix]``, when
    ``CAPA_S3_ENDPOINT_URL`` is not an http(s) address, or when only one of the two keys is given: a start with a
    storage that cannot be used stops, not a request later."""
    if config.get("CAPA_STORAGE_URL"):
        from capa.common import object_store  # boto3 is loaded only for an app that uses it

        object_store.check_settings(*(config.get(name) or None for name in S3_SETTINGS))


def backend() -> Backend:
    """The storage this app uses: the one set in ``app.extensions["capa.files"]``, else the object store of
    ``CAPA_STORAGE_URL`` (made once per process and settings), else the local folder."""
    chosen = current_app.extensions.get("capa.files")
    if chosen is not None:
        return chosen
    config = current_app.config
    if not config.get("CAPA_STORAGE_URL"):
        return LocalFolder(Path(config["UPLOAD_FOLDER"]))
    settings = tuple(config.get(name) or None for name in S3_SETTINGS)
    stores = current_app.extensions.setdefault("capa.files.stores", {})
    if settings not in stores:
        from capa.common import object_store

        stores[settings] = object_store.ObjectStore(*settings)
    return stores[settings]


def _path(key: str, folder: str) -> str:
    if folder not in FOLDERS:
        raise ValueError(f"Not a folder of the storage: {folder!r}")
    return f"{folder}/{key}" if folder else key


def save(data: bytes, suffix: str = "", *, field: str = "file", folder: str = FILES) -> str:
    """Store ``data`` in ``folder`` under a new key ending in ``suffix`` (``.pdf``) and answer the key.

    Saved during the session's transaction, the file is deleted again if that transaction rolls back. Raises
    StorageRefused (503) naming ``field``, the field the file was sent in, when the storage refuses it (OSError)."""
    suffix = suffix.lower()
    if not SUFFIX.fullmatch(suffix):
        raise ValueError(f"Not a file suffix: {suffix!r}")
    key = uuid.uuid4().hex + suffix
    path = _path(key, folder)
    session = db.session()  # the Session itself, not its scoped proxy
    if not session.in_transaction():
        session.begin()  # so that the rollback of a block that ran no SQL yet still removes the file
    try:
        backend().save(path, data)
    except OSError as error:
        raise refused(field, error) from error
    session.info.setdefault(_SAVED, []).append(path)
    return key


def open_stored(key: str, *, folder: str = FILES) -> Stored:
    """The file stored under ``key`` in ``folder``, opened to be read in pieces (close it when done).

    Raises NotFound for a key that is malformed or names no file, and StorageRefused (503, naming ``file``) when
    the storage cannot give it back for now (an object store out of reach)."""
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise _missing()
    try:
        return backend().open(_path(key, folder))
    except FileNotFoundError:
        raise _missing() from None
    except OSError as error:
        raise unreadable(error) from error


def read(key: str, *, folder: str = FILES) -> bytes:
    """The bytes stored under ``key`` in ``folder``; raises what :func:`open_stored` raises."""
    stored = open_stored(key, folder=folder)
    try:
        return stored.read()
    except OSError as error:  # the store went away in the middle of the file
        raise unreadable(error) from error


def delete(key: str, *, folder: str = FILES) -> None:
    """Remove the file stored under ``key`` in ``folder`` now (nothing happens for a key that names no file).
    Raises OSError when the storage fails."""
    if isinstance(key, str) and KEY.fullmatch(key):
        backend().delete(_path(key, folder))


def delete_after_commit(key: str, *, folder: str = FILES) -> None:
    """Remove the file under ``key`` in ``folder`` once the session's transaction commits; kept if it rolls back."""
    if key:
        db.session.info.setdefault(_DOOMED, []).append(_path(key, folder))


def _missing() -> NotFound:
    return NotFound(str(_l("The stored file is missing.")), fields={"file": "unknown"})


def _forget(session: Session) -> tuple[list[str], list[str]]:
    return session.info.pop(_SAVED, []), session.info.pop(_DOOMED, [])


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    _saved, doomed = _forget(session)
    for path in doomed:
        _quietly_delete(path)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is not None:
        return  # a savepoint: the transaction the files belong to goes on
    saved, _doomed = _forget(session)
    for path in saved:
        _quietly_delete(path)


def _quietly_delete(path: str) -> None:
    """Delete a file after its transaction ended; a storage that fails now must not undo what was committed."""
    try:
        backend().delete(path)
    except OSError:  # a full disk, a lost mount, the object store away: the file is left, the record is right
        current_app.logger.warning("Could not delete stored file %s", path, exc_info=True)
