"""Lab reports (one laboratory's report with its results, judged when recorded), their PDFs, and laboratories."""

from datetime import date
from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l
from pydantic import model_validator
from werkzeug.http import parse_options_header

from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp
from capa.api.models import Answer, Codes, Record, Ref, Timestamp, With
from capa.api.safety import Result
from capa.common.commands import PLEASE_CORRECT
from capa.common.errors import ValidationError
from capa.common.files import Stored
from capa.http.downloads import send_stored
from capa.http.guard import request_user
from capa.masterdata import service as masterdata
from capa.safety import models as records
from capa.safety import reports
from capa.safety.commands import LabReportFilters, NewLaboratory, NewLabReport
from capa.safety.models import Component

#: What multipart framing may add to a PDF sent as a form field, beyond the PDF's own limit.
MULTIPART_ALLOWANCE = 64 * 1024


class Laboratory(Record):
    """A testing laboratory with its accreditation."""

    id: int
    name: str
    #: China National Accreditation Service number (without "CNAS"); empty when none.
    cnas_number: str
    #: CMA number (without "CMA"); empty when none.
    cma_number: str
    #: Another ISO/IEC 17025 accreditation, body and number; empty when none.
    iso17025: str
    #: All of them as one line: ``CNAS L0599; CMA 2019123456``.
    accreditation: str


class Laboratories(Answer):
    items: list[Laboratory]


class ReportPdf(Answer):
    """The PDF the laboratory issued, as attached."""

    name: str
    size: int
    sha256: str
    url: str


class LabReport(Record):
    """A laboratory's report: one sample and its results, each judged when recorded."""

    id: int
    number: str
    laboratory: Laboratory
    sample_description: str
    colourway: str
    component: Component
    batch: str | None = Ref("batch", "number", default=None)
    lots: Codes("number")
    sample_date: date | None
    test_date: date
    report_date: date
    #: Null until the PDF is attached (``PUT /api/v1/lab-reports/{id}/pdf``).
    pdf: ReportPdf | None
    recorded_by: str = Ref("recorded_by", "username")
    recorded_at: Timestamp
    results: list[Result]

    @model_validator(mode="before")
    @classmethod
    def _with_pdf(cls, report: Any) -> Any:
        if isinstance(report, records.LabReport):
            pdf = None
            if report.pdf_key:
                pdf = ReportPdf(
                    name=report.pdf_name,
                    size=report.pdf_size,
                    sha256=report.pdf_sha256,
                    url=f"/api/v1/lab-reports/{report.id}/pdf",
                )
            return With(report, pdf=pdf)
        return report


class LabReports(Answer):
    items: list[LabReport]


DUPLICATE_NUMBER = (
    "A report with this number is recorded already, by this or another laboratory (`duplicate`, `fields.number` "
    "names that record: its laboratory and batch), or another request changed the records at the same moment "
    "(`conflict`, to retry); nothing was stored."
)
PDF_BODY = {
    "required": True,
    "description": "The PDF the laboratory issued: the bytes themselves (`application/pdf`; the file name may come "
    "in `Content-Disposition`), or a form with the file in the field `pdf`. At most CAPA_REPORT_PDF_MAX_BYTES "
    "(20 MB by default); judged by its content, which must start with `%PDF-`.",
    "content": {
        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["pdf"],
                "properties": {"pdf": {"type": "string", "format": "binary"}},
            }
        },
    },
}
PDF_ANSWER = {
    "description": "The report's PDF, as attached (with its file name in `Content-Disposition`).",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
}


@bp.post("/lab-reports")
@bp.input(NewLabReport, arg_name="command")
@bp.output(LabReport, status_code=201)
@bp.doc(responses={409: DUPLICATE_NUMBER})
@requires(Permission.RECORD_RESULTS)
def record_lab_report(command: NewLabReport):
    """Record a lab report with its results

    Every result is judged against the batch's style (or the `category` given for a report without a batch).
    Every problem is named at once (`results[3].value`); nothing is stored when any is found.
    """
    return reports.record_report(command, request_user())


@bp.get("/lab-reports")
@bp.input(LabReportFilters, location="query", arg_name="filters")
@bp.output(LabReports)
@requires(Permission.VIEW)
def list_lab_reports(filters: LabReportFilters):
    """List lab reports, newest test first"""
    batch = None
    if filters.batch:
        batch = masterdata.find_batch(filters.batch)
        if batch is None:
            raise ValidationError(
                str(PLEASE_CORRECT), fields={"batch": str(_l("No batch %(number)s.", number=filters.batch))}
            )
    return {"items": reports.list_reports(batch=batch)}


@bp.get("/lab-reports/<int:report_id>")
@bp.output(LabReport)
@requires(Permission.VIEW)
def get_lab_report(report_id: int):
    """A lab report with its results"""
    return reports.get_report(report_id)


@bp.put("/lab-reports/<int:report_id>/pdf")
@bp.output(LabReport)
@bp.doc(extensions={"requestBody": PDF_BODY})
@requires(Permission.RECORD_RESULTS)
def attach_lab_report_pdf(report_id: int):
    """Attach the report's PDF

    A PDF attached before is replaced.
    """
    report = reports.get_report(report_id)
    request.max_content_length = reports.pdf_limit_bytes() + MULTIPART_ALLOWANCE
    filename, data = _sent_pdf(report)
    return reports.attach_pdf(report, filename, data, request_user())


@bp.get("/lab-reports/<int:report_id>/pdf")
@bp.doc(responses={200: PDF_ANSWER})
@requires(Permission.VIEW)
def get_lab_report_pdf(report_id: int):
    """The report's PDF"""
    report = reports.get_report(report_id)
    return pdf_response(reports.open_pdf(report), report.pdf_name)


@bp.get("/laboratories")
@bp.output(Laboratories)
@requires(Permission.VIEW)
def list_laboratories():
    """List the laboratories"""
    return {"items": reports.list_laboratories()}


@bp.post("/laboratories")
@bp.input(NewLaboratory, arg_name="command")
@bp.output(Laboratory, status_code=201)
@requires(Permission.RECORD_RESULTS)
def add_laboratory(command: NewLaboratory):
    """Record a laboratory with its accreditation"""
    return reports.add_laboratory(command)


def _sent_pdf(report: records.LabReport) -> tuple[str, bytes]:
    """The file name and bytes of the PDF in the request: a multipart field ``pdf``, or the body itself."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("pdf")
        if upload is None:
            raise ValidationError(str(PLEASE_CORRECT), fields={"pdf": str(_l("Choose the report's PDF."))})
        return upload.filename or f"{report.number}.pdf", upload.read()
    if request.mimetype != "application/pdf":
        raise ValidationError(
            str(PLEASE_CORRECT),
            fields={
                "pdf": str(_l("Send the PDF as application/pdf, or as the field pdf of a multipart/form-data body."))
            },
        )
    _, options = parse_options_header(request.headers.get("Content-Disposition", ""))
    return options.get("filename") or f"{report.number}.pdf", request.get_data(cache=False)


def pdf_response(stored: Stored, name: str):
    """The PDF answered (streamed) for this user only: never kept by a shared cache, never sniffed as anything
    else."""
    response = send_stored(stored, mimetype="application/pdf", download_name=name)
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
