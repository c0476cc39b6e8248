"""The 8D report of a CAPA: a page made for print (A4), and the same page as a PDF.

- ``GET /nc/<number>/report`` (VIEW): the report in the reader's language (D1 team … D8 closure and the
  effectiveness review), with thumbnails of the defect's photos and of the evidence photos, every review round
  with its submitter, reviewer and times, the dispositions of held goods, the retests with their verdicts.
- ``GET /nc/<number>/report.pdf`` (VIEW): the same template rendered by WeasyPrint, answered as
  ``application/pdf`` for download (``8D-<number>.pdf``). WeasyPrint reads the images and stylesheets the page
  names through :class:`OwnFiles`, never over HTTP: only this NC's own photos, evidence files and running head
  and the app's static files are read, straight from storage; any other address is refused (and left out of the
  PDF). Photos are shrunk for print before they are embedded, so a PDF with six phone photos stays small.
- ``GET /nc/<number>/report-head.css`` (VIEW): the one rule that differs per report, the NC's number at the top
  of every printed page (``@page { @top-left { content: "8D report · NC-…" } }``, in the reader's language),
  as a stylesheet of its own: the page carries no inline style, as the app's Content-Security-Policy wants
  (``capa/http/headers.py``), and the browser's Print and the PDF read the same rule.

An unknown NC answers 404 (all three); WeasyPrint needs Pango (``libpango-1.0-0``, ``libpangoft2-1.0-0``) and a
font with Chinese characters (``fonts-wqy-microhei``): without Pango the PDF answers 503 saying so, and the
rest of the app is unaffected.
"""

import io
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import Response, current_app, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from PIL import Image, ImageOps
from werkzeug.exceptions import ServiceUnavailable
from werkzeug.security import safe_join

from capa.accounts.permissions import Permission, requires
from capa.capas import lookup
from capa.capas.eight_d import EightD, Part, eight_d
from capa.capas.labels import DISPOSITION_LABELS, EFFECTIVENESS_VERDICT_LABELS
from capa.capas.models import Attachment, NonConformance, ReviewDecision
from capa.common import files
from capa.suppliers import scars
from capa.web.capas.views import bp

PART_LABELS = {
    Part.REPORTED: _l("filed the non-conformance"),
    Part.CONTAINED: _l("containment"),
    Part.ANALYSED: _l("root-cause analysis"),
    Part.REVIEWED: _l("review of the root cause"),
    Part.OWNS_ACTION: _l("action owner"),
    Part.COMPLETED_ACTION: _l("finished an action"),
    Part.DISPOSED: _l("disposition of held goods"),
    Part.REINSPECTED: _l("re-inspection"),
    Part.TESTED: _l("retests"),
    Part.CLOSED: _l("closed the CAPA"),
    Part.REVIEWED_EFFECTIVENESS: _l("effectiveness review"),
    Part.CONTRIBUTED: _l("contributor"),
}
#: A review's decision as a round's heading says it (not "Approved" alone: that word is a supplier's approval).
DECISION_LABELS = {
    ReviewDecision.APPROVE: _l("Approved in review"),
    ReviewDecision.RETURN: _l("Returned with a question"),
}
#: The images a report shows as thumbnails (what the photo and evidence stores keep as images).
IMAGE_TYPES = frozenset({"image/jpeg", "image/png"})
#: The longest side of a photo embedded in the PDF: a thumbnail is 32 mm wide on paper (about 380 px at 300 dpi),
#: and a reader may zoom in on the PDF.
PRINT_PIXELS = 800
ATTACHMENT_ENDPOINT = "capas.attachment"


@bp.route("/nc/<number>/report")
@requires(Permission.VIEW)
def report(number: str):
    return render_template("capas/report.html", **_context(eight_d(number)))


@bp.route("/nc/<number>/report.pdf")
@requires(Permission.VIEW)
def report_pdf(number: str):
    """The report as a PDF for download. 404 for an unknown NC; 503 when this server cannot render PDFs."""
    found = eight_d(number)
    html = render_template("capas/report.html", **_context(found))
    pdf = _render_pdf(html, OwnFiles(request.host_url, _own_files(found.nc)))
    return send_file(
        io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True, download_name=f"8D-{found.nc.number}.pdf"
    )


@bp.route("/nc/<number>/report-head.css")
@requires(Permission.VIEW)
def report_head(number: str):
    """The report's running head as a stylesheet (see the module's docstring). 404 for an unknown NC."""
    return Response(running_head_css(lookup.get_nc(number)), mimetype="text/css")


def running_head_css(nc: NonConformance) -> str:
    """The ``@page`` rule naming ``nc`` at the top of every printed page of its report, in the reader's language."""
    head = css_string(f"{_('8D report')} · {nc.number}")
    return f"@page {{ @top-left {{ content: {head}; }} }}\n"


def _context(found: EightD) -> dict:
    nc = found.nc
    return {
        "report": found,
        "nc": nc,
        "part_labels": PART_LABELS,
        "decision_labels": DECISION_LABELS,
        "disposition_labels": DISPOSITION_LABELS,
        "effectiveness_labels": EFFECTIVENESS_VERDICT_LABELS,
        # The supplier's answers to the SCAR actions sent as requests: D4 and D5 as the supplier gave them.
        "scar_requests": scars.requests_by_action(nc.actions, with_answers=True),
        "attachment_url": lambda attachment: attachment_url(nc, attachment),
        "evidence_images": lambda found: evidence_images(nc, found),
    }


def attachment_url(nc: NonConformance, attachment: Attachment) -> str | None:
    """Where an evidence file is downloaded, when this app serves evidence files (``capas.attachment``)."""
    if ATTACHMENT_ENDPOINT not in current_app.view_functions:
        return None
    return url_for(ATTACHMENT_ENDPOINT, number=nc.number, attachment_id=attachment.id)


def evidence_images(nc: NonConformance, found: list[Attachment]) -> list[tuple[Attachment, str]]:
    """The evidence files of ``found`` shown as thumbnails (photos this app serves), each with its address."""
    shown = ((attachment, attachment_url(nc, attachment)) for attachment in found)
    return [
        (attachment, url) for attachment, url in shown if url is not None and attachment.content_type in IMAGE_TYPES
    ]


def css_string(value: str) -> Markup:
    """``value`` as a quoted CSS string, safe inside a ``<style>`` element: every ASCII character other than a
    letter, a digit, a space, ``-``, ``.`` and ``·`` is written as a CSS escape, ended by the space CSS reads
    as its end (no quote, ``<`` or backslash can end the string or the element); other control characters go."""
    safe = "".join(
        ch if ch.isalnum() or ch in " -.·" or ord(ch) > 127 else f"\\{ord(ch):x} " for ch in value if ch.isprintable()
    )
    return Markup(f'"{safe}"')  # noqa: S704 - every character that could end the string or the element is escaped


# The PDF ---------------------------------------------------------------------------------------------------

#: Reads one of the app's own files: its bytes and its media type.
Reader = Callable[[], tuple[bytes, str]]


class Refused(ValueError):
    """An address the PDF renderer may not read (anything but this NC's files and the app's static files)."""


@dataclass(frozen=True)
class OwnFiles:
    """The addresses a report's PDF may read, each read from storage, never over the network: the files of
    ``images`` (path → reader: the NC's photos and evidence images, its running head) and the app's static files,
    on the host the page was asked from (``base_url``). Anything else raises :class:`Refused`."""

    base_url: str
    images: dict[str, Reader]

    def read(self, url: str) -> tuple[bytes, str]:
        parts, base = urlsplit(url), urlsplit(self.base_url)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            raise Refused(f"not this app's address: {url}")
        path = unquote(parts.path)
        if path in self.images:
            return self.images[path]()
        static = url_for("static", filename="")
        if path.startswith(static):
            return _static_file(path.removeprefix(static))
        raise Refused(f"not a file of this report: {url}")


def _static_file(name: str) -> tuple[bytes, str]:
    found = safe_join(current_app.static_folder, name)
    if found is None or not Path(found).is_file():
        raise Refused(f"no static file {name}")
    return Path(found).read_bytes(), mimetypes.guess_type(name)[0] or "application/octet-stream"


def _own_images(nc: NonConformance) -> dict[str, Reader]:
    """The images the report of ``nc`` shows, by the path the page names them with."""

    def photo(stored_name: str, content_type: str) -> Reader:
        return lambda: (_for_print(files.read(stored_name, folder=files.PHOTOS)), content_type)

    def evidence(key: str, content_type: str) -> Reader:
        return lambda: (_for_print(files.read(key)), content_type)

    images = {
        url_for("capas.photo", number=nc.number, photo_id=p.id): photo(p.stored_name, p.content_type) for p in nc.photos
    }
    for attachment in nc.attachments:
        url = attachment_url(nc, attachment)
        if url is not None and attachment.content_type in IMAGE_TYPES:
            images[url] = evidence(attachment.key, attachment.content_type)
    return images


def _own_files(nc: NonConformance) -> dict[str, Reader]:
    """What the report of ``nc`` names besides the static files: its images and its running head."""
    head = running_head_css(nc).encode()
    return {**_own_images(nc), url_for("capas.report_head", number=nc.number): lambda: (head, "text/css")}


def _for_print(data: bytes) -> bytes:
    """A photo no larger than PRINT_PIXELS on its longest side, turned upright, in its own format; one that
    cannot be read is given as it is (the renderer then leaves it out)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if max(image.size) <= PRINT_PIXELS:
                return data
            kind = image.format
            image.draft("RGB", (PRINT_PIXELS, PRINT_PIXELS))
            shrunk = ImageOps.exif_transpose(image)
            shrunk.thumbnail((PRINT_PIXELS, PRINT_PIXELS))
            output = io.BytesIO()
            if kind == "JPEG":
                shrunk.convert("RGB").save(output, "JPEG", quality=85)
            else:
                shrunk.save(output, "PNG")
            return output.getvalue()
    except Exception:  # an unreadable image: WeasyPrint judges it and leaves it out
        return data


def _render_pdf(html: str, own: OwnFiles) -> bytes:
    """``html`` as a PDF, reading what it names only through ``own``."""
    try:
        from weasyprint import HTML, URLFetcher
        from weasyprint.urls import URLFetcherResponse
    except (ImportError, OSError) as error:  # WeasyPrint, or the Pango it loads, is missing on this server
        current_app.logger.error("WeasyPrint cannot start: %s", error)
        raise ServiceUnavailable(
            _("This server cannot make PDFs: WeasyPrint or the Pango library it needs is missing (see the README).")
        ) from error

    class Fetcher(URLFetcher):
        """WeasyPrint's way in to the files a page names: only through ``own`` (a refusal leaves the file out)."""

        def fetch(self, url, headers=None):
            body, media_type = own.read(url)
            return URLFetcherResponse(url, body, {"Content-Type": media_type})

    return HTML(string=html, base_url=own.base_url, url_fetcher=Fetcher()).write_pdf()
