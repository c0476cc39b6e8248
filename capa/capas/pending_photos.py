"""Photos kept from a refused filing form, so that nobody has to choose them again.

When the filing form is refused (a missing title, an unknown batch), each photo that is itself valid is kept as a
*pending photo*, in the form it will be stored in (a HEIC already converted to JPEG), and the form shown again
carries its token in a hidden field; filing the form again files the pending photos with the NC. The rules:

- a pending photo belongs to the user who sent it: it lies in that user's own folder of the app's file storage
  (:mod:`capa.common.files`, shared by every web host), ``pending/<user id>/``, and every lookup is made there, so
  another user's token is unknown;
- its token is random and unguessable (``secrets.token_urlsafe``), and it is the file's name: nothing that a
  client sends is used as a path unless it has a token's exact shape;
- it lives for about a day (PENDING_LIFETIME): an older one is unknown, and is removed whenever photos are kept;
- it is removed once filed with its NC, or when its uploader ticks its "remove" box.

A pending photo is two files, the photo (``<token>.jpg`` or ``<token>.png``) and what it was called on the device
and its extension (``<token>.json``), and no database row: nothing an auditor needs, and nothing to migrate.
"""

import contextlib
import json
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l

from capa.accounts.models import User
from capa.capas.lookup import invalid
from capa.capas.photos import JPEG, MAX_PHOTOS, PNG, CheckedPhoto, Upload, check_photo, photo_limit_bytes, safe_name
from capa.common import files
from capa.common.errors import DomainError, NotFound

PENDING_LIFETIME = timedelta(days=1)
#: What ``secrets.token_urlsafe(24)`` gives: 32 characters of the URL-safe base64 alphabet.
TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
KINDS = {extension: content_type for content_type, extension in (JPEG, PNG)}
#: Where pending photos lie in the app's file storage, and the shape of one of their files there.
ROOT = "pending"
OWN_FILE = re.compile(r"pending/[0-9]+/[A-Za-z0-9_-]{32}\.[a-z]{3,4}")


@dataclass(frozen=True)
class PendingPhoto:
    """A photo kept for its uploader until the form it came with is filed."""

    token: str
    #: The device's file name, for display only.
    name: str
    #: Where the photo lies in the app's file storage.
    path: str
    content_type: str

    @property
    def extension(self) -> str:
        return self.path[self.path.rindex(".") :]

    def as_checked(self) -> CheckedPhoto:
        """The photo as the filing stores it (it was judged a photo when it was kept). Raises FileNotFoundError
        when it is gone meanwhile, OSError when the storage fails."""
        return CheckedPhoto(self.name, files.backend().open(self.path).read(), self.content_type, self.extension)


def open_kept(photo: PendingPhoto) -> files.Stored:
    """The kept photo's file, opened to be read (its thumbnail); raises NotFound when it is gone meanwhile,
    StorageRefused (503) when the storage cannot give it back for now."""
    try:
        return files.backend().open(photo.path)
    except FileNotFoundError:
        raise NotFound(str(_l("No such photo.")), fields={"photo": "unknown"}) from None
    except OSError as error:
        raise files.unreadable(error) from error


def keep(uploads: list[Upload], owner: User, *, room: int = MAX_PHOTOS) -> list[PendingPhoto]:
    """Keep, for ``owner``, each upload that is itself a valid photo (see :func:`capa.capas.photos.check_photo`),
    at most ``room`` of them; an upload that is not a photo is left out, since the refusal already names it.
    Expired pending photos of every user are removed on the way. A disk that refuses to keep a photo (full, not
    writable, an object store out of reach) ends the keeping there: the refused form comes back without the photos
    not kept, never as an error."""
    store = files.backend()
    try:
        expire()
    except OSError:
        current_app.logger.warning("Could not remove expired photos of refused filings", exc_info=True)
    folder = _folder_of(owner)
    kept: list[PendingPhoto] = []
    for upload in uploads:
        if len(kept) >= room:
            break
        try:
            photo = check_photo(upload, photo_limit_bytes())
        except DomainError:
            continue
        token = secrets.token_urlsafe(24)
        path = f"{folder}/{token}{photo.extension}"
        described = {"name": safe_name(photo.filename), "extension": photo.extension}
        try:
            store.save(path, photo.data)
            # Written last: a photo without its name is not found, so a half-kept photo is never offered.
            store.save(f"{folder}/{token}.json", json.dumps(described).encode())
        except OSError:
            current_app.logger.warning("Could not keep a photo of a refused filing", exc_info=True)
            with contextlib.suppress(OSError):
                store.delete(path)
            break
        kept.append(PendingPhoto(token, safe_name(photo.filename), path, photo.content_type))
    return kept


def find(token: str, owner: User) -> PendingPhoto:
    """``owner``'s pending photo ``token``. Raises NotFound for a token that is malformed, unknown, expired or
    another user's, all alike, so that the answer tells nothing about other users' photos."""
    photo = _lookup(token, owner)
    if photo is None:
        raise NotFound(str(_l("No such photo.")), fields={"photo": "unknown"})
    return photo


def load(tokens: Iterable[str], owner: User) -> list[CheckedPhoto]:
    """``owner``'s pending photos named by ``tokens`` (each once, in order), as the filing stores them.

    Raises ValidationError naming ``photos`` when one of them is no longer there (expired, removed, or never
    ``owner``'s): the filing must not go on without a photo its reporter believes attached.
    """
    wanted = list(dict.fromkeys(tokens))
    try:
        found = [photo.as_checked() for photo in still_kept(wanted, owner)]
    except FileNotFoundError:
        found = []  # expired and swept away by another request since it was looked up
    except OSError as error:
        raise files.unreadable(error) from error
    if len(found) < len(wanted):
        raise invalid(
            {"photos": str(_l("A photo kept from before is gone (photos are kept for a day); choose it again."))}
        )
    return found


def still_kept(tokens: Iterable[str], owner: User) -> list[PendingPhoto]:
    """Those of ``owner``'s pending photos named by ``tokens`` that are still there (each once, in order),
    leaving out the others without a word: what a refused form shows again."""
    found = (_lookup(token, owner) for token in dict.fromkeys(tokens))
    return [photo for photo in found if photo is not None]


def keep_after_refusal(tokens: Iterable[str], uploads: list[Upload], owner: User) -> list[PendingPhoto]:
    """The photos a refused filing form shows again: the pending photos it carried that are still there, then
    each newly chosen upload that is itself a valid photo, kept, as long as they fit on one NC."""
    earlier = still_kept(tokens, owner)
    return earlier + keep(uploads, owner, room=MAX_PHOTOS - len(earlier))


def discard(tokens: Iterable[str], owner: User) -> None:
    """Remove ``owner``'s pending photos named by ``tokens`` (filed, or removed by their uploader); a token that
    is not ``owner``'s removes nothing."""
    for token in tokens:
        photo = _lookup(token, owner)
        if photo is not None:
            try:
                _remove(photo)
            except OSError:
                current_app.logger.warning("Could not remove a kept photo; it expires in a day", exc_info=True)


def expire() -> None:
    """Remove every pending photo older than PENDING_LIFETIME, of every user (the files of ``pending/<user id>/``;
    the other kinds of kept uploads under ``pending/`` expire by :mod:`capa.common.pending`). Raises OSError when the
    storage fails."""
    oldest = time.time() - PENDING_LIFETIME.total_seconds()
    store = files.backend()
    for path, modified in list(store.walk(ROOT)):
        if OWN_FILE.fullmatch(path) and modified < oldest:
            store.delete(path)


def _lookup(token: str, owner: User) -> PendingPhoto | None:
    """``owner``'s pending photo ``token``, or None when there is no such one, or it has expired."""
    if not isinstance(token, str) or not TOKEN.fullmatch(token):
        return None  # never a path from anything but a token's exact shape
    store = files.backend()
    folder = _folder_of(owner)
    try:
        described = json.loads(store.open(f"{folder}/{token}.json").read())
        name = described["name"]
        # Photos kept before their extension was written down are looked for under each one.
        extensions = [described["extension"]] if described.get("extension") in KINDS else list(KINDS)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    for extension in extensions:
        path = f"{folder}/{token}{extension}"
        try:
            with store.open(path) as photo:
                fresh = photo.modified >= time.time() - PENDING_LIFETIME.total_seconds()
        except FileNotFoundError:
            continue
        except OSError:
            return None
        return PendingPhoto(token, str(name), path, KINDS[extension]) if fresh else None
    return None


def _remove(photo: PendingPhoto) -> None:
    store = files.backend()
    store.delete(photo.path)
    store.delete(f"{_folder_of_path(photo.path)}/{photo.token}.json")


def _folder_of_path(path: str) -> str:
    return path.rsplit("/", 1)[0]


def _folder_of(owner: User) -> str:
    return f"{ROOT}/{int(owner.id)}"
