"""Evidence files of a CAPA: what shows that an action was done (the revised standard, a training record, a
before/after photo, a lab report) and what the closing rests on, kept in the app's file storage.

The rules:
- a file is judged by its bytes, never by its name or the type a client claims:
  - a PDF starts with ``%PDF-`` and ends with ``%%EOF`` (within its last PDF_END_WINDOW bytes, where readers
    look for it), so a file cut short is refused too;
  - an XLSX is a zip archive holding ``[Content_Types].xml``, which declares a spreadsheet workbook, and
    ``xl/workbook.xml``. It is never unpacked: the archive's directory is read, and only
    ``[Content_Types].xml`` is inflated, bounded by its declared size. An archive with more than
    MAX_XLSX_ENTRIES entries, or entries with the same name, or whose entries declare more than
    MAX_XLSX_UNPACKED bytes in all, or more than MAX_XLSX_RATIO times its own size (a zip bomb), is refused;
  - a photo is what :func:`capa.capas.photos.check_photo` accepts, stored as it writes it anew
    (:mod:`capa.common.images`): upright, with nothing but its pixels (no EXIF, GPS, XMP or comment, nothing
    appended after the image), a JPEG as a JPEG, a PNG as a PNG, a HEIC/HEIF as a JPEG; one with too many pixels,
    cut short or damaged is refused;
  - anything else is refused as "not a PDF, XLSX or photo";
- each file is at most CAPA_EVIDENCE_MAX_BYTES as received; an action takes at most MAX_FILES files, and so
  does the closing;
- a refusal names each bad file by its position, ``files[i]`` (``files`` for too many), all at once;
- files are saved through :mod:`capa.common.files`, inside the step's unit of work: a refused or failed step
  leaves neither a file nor an Attachment behind. Each file stored appends an ``evidence`` entry to the NC's
  history;
- an action's evidence is added by the action's owner or a quality manager, the closing's by a quality
  manager, while the NC is open (Step.ADD_EVIDENCE, :func:`add_evidence`); completing an action and closing
  take their files in the same step (:func:`capa.capas.steps.complete_action`, :func:`capa.capas.steps.close`),
  and may name files added before (:func:`referenced`); the effectiveness review attaches its own within its
  step (:func:`attach`).

A form refused for another reason keeps each file that is itself valid for the person who sent it
(:func:`keep_after_refusal`, through :mod:`capa.common.pending`), so that nobody has to choose it again; a step
refused to this person or in this state (PermissionDenied, InvalidState), whose form is not offered again,
keeps none.
"""

import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l

from capa.accounts.models import User
from capa.capas.commands import AddEvidence
from capa.capas.errors import InvalidState
from capa.capas.history import Journal, authorize, changing
from capa.capas.lookup import invalid
from capa.capas.models import Action, ActionStatus, Attachment, AttachmentPurpose, NonConformance
from capa.capas.photos import PHOTO_SIGNATURES, Upload, check_photo, is_heif
from capa.capas.states import Step
from capa.common import files as storage
from capa.common import images, pending
from capa.common.errors import DomainError, NotFound, PermissionDenied, ValidationError
from capa.extensions import db

PDF = ("application/pdf", ".pdf")
XLSX = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx")
ZIP_SIGNATURE = b"PK\x03\x04"
#: What ``[Content_Types].xml`` of a workbook (not a template, not a macro-enabled workbook) declares.
WORKBOOK_CONTENT_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
MAX_XLSX_ENTRIES = 10_000
MAX_XLSX_UNPACKED = 512 * 2**20
#: Spreadsheet XML compresses well (10 to 30 times); a hundred times more than the archive is a bomb...
MAX_XLSX_RATIO = 100
#: ...once it is more than a few megabytes at all (tiny archives of empty sheets compress further).
RATIO_FLOOR = 16 * 2**20
MAX_CONTENT_TYPES_BYTES = 2**20
#: Files per action, and for the closing.
MAX_FILES = 10
#: The kind of pending upload (capa.common.pending) files of a refused form are kept under.
PENDING_KIND = "evidence"

TYPE_LABELS = {
    PDF[0]: _l("PDF"),
    XLSX[0]: _l("Excel workbook (XLSX)"),
    "image/jpeg": _l("JPEG photo"),
    "image/png": _l("PNG photo"),
}


@dataclass(frozen=True)
class CheckedFile(Upload):
    """An upload judged to be evidence, in the form it is stored in (a HEIC already converted to JPEG)."""

    content_type: str
    extension: str

    @property
    def is_photo(self) -> bool:
        return self.content_type.startswith("image/")


# Judging the bytes ------------------------------------------------------------------------------------------


def evidence_limit_bytes() -> int:
    return current_app.config["CAPA_EVIDENCE_MAX_BYTES"]


def check_file(upload: Upload, max_bytes: int) -> CheckedFile:
    """The upload as it will be stored, judged by its bytes (see the module's rules).

    Raises ValidationError naming ``file``: larger than ``max_bytes`` as received, not a PDF, XLSX or photo, a
    PDF cut short, an XLSX that is damaged or unpacks to too much, or a HEIC that cannot be decoded.
    """
    if isinstance(upload, CheckedFile):
        return upload  # judged already (a file kept from a refused form): a HEIC is never converted twice
    shown = display_name(upload.filename)
    data = upload.data
    if len(data) > max_bytes:
        raise _refused(_l("%(name)s is larger than %(size)s.", name=shown, size=size_text(max_bytes)))
    if data.startswith(storage.PDF_SIGNATURE):
        if storage.PDF_END not in data[-storage.PDF_END_WINDOW :]:
            raise _refused(_l("%(name)s is a PDF cut short: its end is missing.", name=shown))
        return CheckedFile(upload.filename, data, *PDF)
    if data.startswith(ZIP_SIGNATURE):
        _check_workbook(data, shown)
        return CheckedFile(upload.filename, data, *XLSX)
    if any(data.startswith(signature) for signature in PHOTO_SIGNATURES) or is_heif(data):
        try:
            photo = check_photo(upload, max_bytes)
        except ValidationError as error:
            raise _refused(error.fields.get("photos", error.message)) from None
        return CheckedFile(upload.filename, photo.data, photo.content_type, photo.extension)
    raise _refused(_l("%(name)s is not a PDF, XLSX or photo.", name=shown))


def _check_workbook(data: bytes, shown: str) -> None:
    """Raises ValidationError naming ``file`` unless ``data`` is an XLSX workbook that unpacks to a sane size."""
    not_xlsx = _refused(_l("%(name)s is not a PDF, XLSX or photo.", name=shown))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            names = [entry.filename for entry in entries]
            declared = sum(entry.file_size for entry in entries)
            if (
                len(entries) > MAX_XLSX_ENTRIES
                or declared > MAX_XLSX_UNPACKED
                or (declared > RATIO_FLOOR and declared > MAX_XLSX_RATIO * len(data))
            ):
                raise _refused(_l("%(name)s unpacks to far more than its size: refused.", name=shown))
            if len(set(names)) != len(names) or "xl/workbook.xml" not in names:
                raise not_xlsx
            content_types = archive.getinfo("[Content_Types].xml")
            if content_types.file_size > MAX_CONTENT_TYPES_BYTES:
                raise not_xlsx
            # Inflated no further than its declared size (zipfile stops there, and checks the CRC at the end).
            with archive.open(content_types) as stream:
                declaration = stream.read(MAX_CONTENT_TYPES_BYTES + 1)
    except ValidationError:
        raise
    # A damaged or hostile archive signals itself with many kinds of exception (BadZipFile, KeyError for a
    # missing entry, NotImplementedError for an unknown compression, RuntimeError when encrypted, zlib.error,
    # EOFError, OSError…): each of them means "this is no workbook we can read".
    except Exception as error:
        raise not_xlsx from error
    if WORKBOOK_CONTENT_TYPE not in declaration:
        raise not_xlsx


def check_evidence(uploads: Sequence[Upload], *, already: int = 0) -> list[CheckedFile]:
    """Each upload as it will be stored (see :func:`check_file`), when ``already`` files are attached where
    these go (the action, or the closing).

    Raises ValidationError naming each bad file, ``files[i]``, and ``files`` when there are more than MAX_FILES
    in all: every problem at once.
    """
    limit = evidence_limit_bytes()
    errors: dict[str, str] = {}
    if already + len(uploads) > MAX_FILES:
        errors["files"] = str(
            _l("At most %(n)d evidence files here; %(already)d are attached already.", n=MAX_FILES, already=already)
            if already
            else _l("At most %(n)d evidence files at a time.", n=MAX_FILES)
        )
    checked = []
    for index, upload in enumerate(uploads):
        try:
            checked.append(check_file(upload, limit))
        except ValidationError as error:
            errors[f"files[{index}]"] = error.fields.get("file", error.message)
    if errors:
        raise invalid(errors)
    return checked


def _refused(message) -> ValidationError:
    return invalid({"file": str(message)})


def display_name(filename: str) -> str:
    """A file name as sent, reduced to its last part and printable characters, for display only."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch != '"').strip()[:200]
    return name or "evidence"


def size_text(size: int) -> str:
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{size / 1024:.0f} KB" if size >= 1024 else f"{size} bytes"


# Storing ------------------------------------------------------------------------------------------------------


def attached_to(nc: NonConformance, purpose: AttachmentPurpose | str, action: Action | None = None) -> list[Attachment]:
    """The files attached to ``nc`` for ``purpose`` (and ``action``, for an action's evidence)."""
    action_id = action.id if action is not None else None
    return [a for a in nc.attachments if a.purpose == purpose and a.action_id == action_id]


def attach(
    nc: NonConformance,
    uploads: Sequence[Upload],
    purpose: AttachmentPurpose | str,
    actor: User,
    *,
    action: Action | None = None,
    journal: Journal,
) -> list[Attachment]:
    """Store ``uploads`` as evidence of ``nc`` for ``purpose`` (of ``action``, for an action's evidence), inside
    the unit of work of the step whose ``journal`` this is: each file is saved in the app's storage (removed
    again if the step rolls back), recorded as an Attachment and written to the NC's history.

    Raises ValidationError naming ``files[i]`` and ``files`` (see :func:`check_evidence`), and StorageRefused (503)
    naming ``files`` when the storage refuses a file (the step then stores none).
    """
    purpose = AttachmentPurpose(purpose)
    checked = check_evidence(uploads, already=len(attached_to(nc, purpose, action)))
    stored = []
    for file in checked:
        attachment = Attachment(
            purpose=purpose.value,
            action=action,
            key=storage.save(file.data, file.extension, field="files"),
            original_name=display_name(file.filename),
            content_type=file.content_type,
            size=len(file.data),
            uploaded_by=actor,
        )
        nc.attachments.append(attachment)
        journal.record("evidence", new=attachment.original_name, note=_what_for(purpose, action))
        stored.append(attachment)
    return stored


def _what_for(purpose: AttachmentPurpose, action: Action | None) -> str:
    if action is not None:
        return str(_l("Evidence of the action: %(what)s", what=action.description))
    if purpose is AttachmentPurpose.CLOSING:
        return str(_l("Evidence of the closing"))
    return str(_l("Evidence of the effectiveness review"))


def add_evidence(nc: NonConformance, command: AddEvidence, actor: User) -> list[Attachment]:
    """Add evidence ``files`` to an open NC on their own (before completing an action or closing): an action's
    (``purpose`` action, ``action`` the id of one of the NC's actions) by the action's owner or a quality
    manager, the closing's (``purpose`` closing) by a quality manager. The effectiveness review's are added in
    its own step.

    Raises ValidationError naming ``action`` (missing, not the NC's, or given for the closing), ``files`` or
    ``files[i]``; PermissionDenied (403) for anyone else; InvalidState (409) when the NC is closed or cancelled,
    or the action is done already.
    """
    purpose = AttachmentPurpose(command.purpose.value)
    action = None
    if purpose is AttachmentPurpose.ACTION:
        if command.action is None:
            raise invalid({"action": str(_l("Name the action this evidence is for."))})
        action = next((a for a in nc.actions if a.id == command.action), None)
        if action is None:
            raise invalid({"action": str(_l("No action %(id)s on %(number)s.", id=command.action, number=nc.number))})
    elif command.action is not None:
        raise invalid({"action": str(_l("Only an action's evidence names an action."))})
    authorize(nc, actor, Step.ADD_EVIDENCE, action=action)  # who and when first: 403 or 409 before the files
    if action is not None and action.status == ActionStatus.DONE:
        # What an action rests on is settled when it is completed: a file added later would not have been seen.
        raise InvalidState(
            str(_l("This action is done: its evidence was recorded when it was completed.")), state=nc.status
        )
    if not command.files:
        raise invalid({"files": str(_l("Choose at least one file."))})
    checked = check_evidence(command.files, already=len(attached_to(nc, purpose, action)))
    with changing(nc, actor, Step.ADD_EVIDENCE, action=action) as journal:
        return attach(nc, checked, purpose, actor, action=action, journal=journal)


def referenced(
    nc: NonConformance, ids: Iterable[int], purpose: AttachmentPurpose | str, action: Action | None = None
) -> tuple[list[Attachment], dict[str, str]]:
    """The files named by ``ids`` (added before, see :func:`add_evidence`), each of which must be ``nc``'s for
    ``purpose`` (and ``action``); and the problems, ``attachments[i]`` for each id that names no such file."""
    mine = {a.id: a for a in attached_to(nc, purpose, action)}
    found, problems = [], {}
    for index, attachment_id in enumerate(ids):
        if attachment_id in mine:
            found.append(mine[attachment_id])
        elif action is not None:
            problems[f"attachments[{index}]"] = str(
                _l("No evidence file %(id)s was added to this action.", id=attachment_id)
            )
        else:
            problems[f"attachments[{index}]"] = str(
                _l(
                    "No evidence file %(id)s was added for the closing of %(number)s.",
                    id=attachment_id,
                    number=nc.number,
                )
            )
    return list(dict.fromkeys(found)), problems


# Reading ------------------------------------------------------------------------------------------------------


def get_attachment(attachment_id: int, nc: NonConformance | None = None) -> Attachment:
    """The evidence file ``attachment_id`` (of ``nc``, when given); raises NotFound."""
    attachment = db.session.get(Attachment, attachment_id) if 0 < attachment_id < 2**31 else None
    if attachment is None or (nc is not None and attachment.nc_id != nc.id):
        raise NotFound(str(_l("No such evidence file.")), fields={"attachment": "unknown"})
    return attachment


def read(attachment: Attachment) -> bytes:
    """The file's bytes; raises NotFound when the storage lost them, StorageRefused (503) when the storage cannot
    give them back for now."""
    return storage.read(attachment.key)


def open_file(attachment: Attachment) -> storage.Stored:
    """The file opened to be read in pieces (served as a stream); raises what :func:`read` raises."""
    return storage.open_stored(attachment.key)


def is_photo(attachment: Attachment) -> bool:
    return attachment.content_type.startswith("image/")


def download_name(attachment: Attachment) -> str:
    """The name a download is saved under: the device's, with the stored type's extension when it differs (a
    HEIC photo is stored as a JPEG)."""
    extension = {PDF[0]: ".pdf", XLSX[0]: ".xlsx", "image/jpeg": ".jpg", "image/png": ".png"}.get(
        attachment.content_type, ""
    )
    name = attachment.original_name or "evidence"
    same = name.lower().endswith(extension) or (extension == ".jpg" and name.lower().endswith(".jpeg"))
    return name if same else name + extension


def type_label(content_type: str) -> str:
    return str(TYPE_LABELS.get(content_type, content_type))


def by_action(nc: NonConformance) -> dict[int, list[Attachment]]:
    """The NC's action evidence by action id, read with the NC's attachments in one query."""
    found: dict[int, list[Attachment]] = {}
    for attachment in nc.attachments:
        if attachment.action_id is not None:
            found.setdefault(attachment.action_id, []).append(attachment)
    return found


# Files kept from a refused form ------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeptFile:
    """A file kept for its sender while the form it came with is refused: its token and its name."""

    token: str
    name: str


def keep(uploads: Sequence[Upload], owner: User, *, room: int = MAX_FILES) -> list[KeptFile]:
    """Keep, for ``owner``, each upload that is itself valid evidence (as it will be stored), at most ``room``
    of them; one that is not is left out, since the refusal names it. A disk that refuses to keep a file ends the
    keeping there: the refused form comes back without the files not kept, never as an error."""
    kept = []
    for upload in uploads:
        if len(kept) >= room:
            break
        try:
            file = check_file(upload, evidence_limit_bytes())
        except ValidationError:
            continue
        name = display_name(file.filename)
        try:
            kept.append(KeptFile(pending.keep(PENDING_KIND, owner.id, file.data, name), name))
        except storage.StorageRefused:
            break
    return kept


def still_kept(tokens: Iterable[str], owner: User) -> list[KeptFile]:
    """Those of ``owner``'s kept files named by ``tokens`` that are still there (each once, in order)."""
    found = []
    for token in dict.fromkeys(tokens):
        kept = pending.load(PENDING_KIND, owner.id, token)
        if kept is not None:
            found.append(KeptFile(token, kept[0]))
    return found


def keep_after_refusal(
    tokens: Iterable[str], uploads: Sequence[Upload], owner: User, refusal: DomainError | None = None
) -> list[KeptFile]:
    """The files a refused form shows again: those it carried that are still kept, then each newly chosen
    upload that is itself valid, kept, as long as they fit. A ``refusal`` of the step itself (not this person's
    step, or not possible in the NC's state) keeps no new file: that form is not sent again."""
    earlier = still_kept(tokens, owner)
    if isinstance(refusal, PermissionDenied | InvalidState):
        return earlier
    return earlier + keep(uploads, owner, room=MAX_FILES - len(earlier))


def load_kept(tokens: Iterable[str], owner: User) -> list[Upload]:
    """``owner``'s kept files named by ``tokens`` (each once, in order), to be judged and stored again.

    Raises ValidationError naming ``files`` when one of them is gone (files are kept for a day): the step must
    not go on without a file its sender believes attached.
    """
    found = []
    for token in dict.fromkeys(tokens):
        kept = pending.load(PENDING_KIND, owner.id, token)
        if kept is None:
            raise invalid(
                {"files": str(_l("A file kept from before is gone (files are kept for a day); choose it again."))}
            )
        found.append(_as_kept(*kept))
    return found


def _as_kept(name: str, data: bytes) -> Upload:
    """A kept file as it is judged again: a photo was written anew when it was kept (:func:`check_file`), and
    is taken as it is, since each new JPEG encoding loses a little more of the picture; any other file is
    judged again."""
    kind = images.kind_of(data)
    if kind is not None and not images.is_heif(data):
        return CheckedFile(name, data, *kind)
    return Upload(name, data)


def discard_kept(tokens: Iterable[str], owner: User) -> None:
    """Remove ``owner``'s kept files named by ``tokens`` (stored with their step, or removed by their sender)."""
    for token in tokens:
        pending.discard(PENDING_KIND, owner.id, token)
