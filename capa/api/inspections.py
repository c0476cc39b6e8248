"""Inspection endpoints. ``GET /sampling-plan``: the ISO 2859-1 single sampling plan for a lot, for scripts and
other systems (an MES planning a final inspection, say); ``/defect-codes``: the defect library; ``/inspections``:
final inspections of batches, with their photos."""

from datetime import date
from typing import Any, Literal

from flask import current_app
from pydantic import AliasPath, Field, model_validator

from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp
from capa.api.evidence import FILE_FIELD, MULTIPART_ALLOWANCE, multipart_files
from capa.api.models import Answer, Codes, Measured, Record, Ref, Timestamp, With
from capa.capas.photos import photo_limit_bytes
from capa.common.errors import DomainError
from capa.http.downloads import send_stored
from capa.http.guard import request_user
from capa.inspections import aqls, defects, figures, final, photos, service, specs
from capa.inspections.commands import (
    AqlsRemoval,
    BuyerAqlsChange,
    DefectCodeChanges,
    DefectCodeFilters,
    FiguresPeriod,
    InspectionFilters,
    MeasurementSpecChange,
    NewDefectCode,
    NewFinalInspection,
    ResumeInspection,
    SamplingPlanQuery,
    StyleAqlsChange,
    SwitchingQuery,
)
from capa.inspections.measurements import MeasureUnit
from capa.inspections.models import DefectArea, DefectClass, PackingCheck
from capa.inspections.models import InspectionPhoto as StoredInspectionPhoto
from capa.inspections.photos import MAX_PHOTOS
from capa.inspections.sampling import Level, Severity
from capa.masterdata import service as masterdata


class SamplingPlan(Record):
    """A lot's single sampling plan, read from ISO 2859-1:1999 (GB/T 2828.1-2012) Table 1 and the master table of
    the inspection's severity (2-A normal, 2-B tightened, 2-C reduced)."""

    code_letter: str = Field(description="Table 1's sample size code letter for the lot size and level.")
    sample_size: int = Field(description="The sample size of the plan used, after any arrow of the master table.")
    accept: int = Field(description="Acceptance number Ac: the lot is accepted with at most this many found.")
    reject: int = Field(description="Rejection number Re: the lot is not accepted with this many or more found.")
    level: Level
    aql: float = Field(description="The AQL, one of the standard's series.")
    severity: Severity
    lot_size: int
    plan_code_letter: str = Field(
        validation_alias=AliasPath("plan", "letter"),
        description="The code letter of the row whose plan is used (after any arrow).",
    )
    arrow: Literal["down", "up"] | None = Field(
        description="The arrow followed from the code letter's cell to the plan used, if it was one."
    )
    full_inspection: bool = Field(
        description="The plan's sample size equals or exceeds the lot size: every unit is inspected."
    )
    units_to_inspect: int = Field(description="The units to inspect: the sample size, or the whole lot.")
    table: str = Field(description="The standard and table the plan was read from.")


@bp.get("/sampling-plan")
@bp.input(SamplingPlanQuery, location="query", arg_name="query")
@bp.output(SamplingPlan)
@requires(Permission.VIEW)
def sampling_plan(query: SamplingPlanQuery):
    """The single sampling plan for a lot (ISO 2859-1 / GB/T 2828.1)

    The lot size and inspection level give Table 1's code letter; the letter and the AQL give a cell of the master
    table of the inspection's severity, whose arrows lead to the plan used, with that plan's sample size. A lot
    smaller than the sample is inspected whole (``full_inspection``). A lot size below 2, an unknown level or
    severity, or an AQL off the standard's series answers 400 naming the field.
    """
    return SamplingPlan.model_validate(service.plan_for(query))


# The defect library -----------------------------------------------------------------------------------------------


class DefectCode(Record):
    """A coded defect of the library."""

    code: str
    name: str
    #: The name in Simplified Chinese; empty when none was given.
    name_zh: str
    defect_class: DefectClass
    area: DefectArea
    #: The defect type an NC raised for this defect is filed under.
    defect_type: str | None = Ref("defect_type", "code", default=None)
    parameters: Codes()
    active: bool


class DefectCodes(Answer):
    items: list[DefectCode]


@bp.get("/defect-codes")
@bp.input(DefectCodeFilters, location="query", arg_name="filters")
@bp.output(DefectCodes)
@requires(Permission.VIEW)
def list_defect_codes(filters: DefectCodeFilters):
    """The defect library, by code; filtered by ``defect_class``, ``area`` and ``active`` (``true``, ``false``)."""
    return {"items": defects.list_defect_codes(filters)}


@bp.get("/defect-codes/<code>")
@bp.output(DefectCode)
@requires(Permission.VIEW)
def get_defect_code(code: str):
    return defects.get_defect_code(code)


@bp.post("/defect-codes")
@bp.input(NewDefectCode, arg_name="command")
@bp.output(DefectCode, status_code=201)
@requires(Permission.MAINTAIN_CATALOG)
def add_defect_code(command: NewDefectCode):
    """Add a coded defect. A safety defect must be critical (400 naming ``defect_class``); a code in use answers
    409."""
    return defects.save_defect_code(None, command, request_user())


@bp.patch("/defect-codes/<code>")
@bp.input(DefectCodeChanges, arg_name="changes")
@bp.output(DefectCode)
@requires(Permission.MAINTAIN_CATALOG)
def change_defect_code(code: str, changes: DefectCodeChanges):
    """Change a coded defect (the fields given; its code never changes); ``defect_type`` empty unlinks it."""
    return defects.save_defect_code(defects.get_defect_code(code), changes, request_user())


# Inspections ------------------------------------------------------------------------------------------------------


class DefectFound(Record):
    code: str = Ref("defect_code", "code")
    #: The class the code had when the inspection was recorded.
    defect_class: DefectClass
    count: int


class InspectionPhoto(Record):
    """A photo of an inspection, judged by its content and stored as a JPEG or PNG (a HEIC as a JPEG)."""

    id: int
    #: The file name the client's device gave, for display only.
    name: str = Field(validation_alias="original_name")
    content_type: str
    #: Bytes, as stored.
    size: int
    uploaded_by: str = Ref("uploaded_by", "username")
    uploaded_at: Timestamp
    #: Where to read it.
    url: str

    @model_validator(mode="before")
    @classmethod
    def _with_url(cls, photo: Any) -> Any:
        if isinstance(photo, StoredInspectionPhoto):
            return With(photo, url=f"/api/v1/inspections/{photo.inspection_id}/photos/{photo.id}")
        return photo


class MeasurementRecord(Record):
    """A point measured on one garment, with the target and tolerances it was judged against (the spec's then)."""

    garment: int
    size: str
    point: str
    value: Measured
    target: Measured
    tol_minus: Measured
    tol_plus: Measured
    #: ``target - tol_minus <= value <= target + tol_plus``.
    within: bool


class Inspection(Record):
    """A final inspection: the plan of each class as it was read, what was found, the verdict and the NC a rejection
    raised."""

    id: int
    kind: str
    batch: str = Ref("batch", "number")
    lot_size: int
    level: Level
    severity: Severity
    code_letter: str
    aql_major: str
    aql_minor: str
    major_sample: int
    major_accept: int
    major_reject: int
    minor_sample: int
    minor_accept: int
    minor_reject: int
    units_inspected: int
    critical_found: int
    major_found: int
    minor_found: int
    defects: list[DefectFound]
    #: The cartons of the lot and those opened for the packing checks; null when none were made.
    cartons_offered: int | None
    cartons_opened: int | None
    #: The packing checks that failed: any one rejects the lot.
    packing_failed: list[PackingCheck]
    verdict: Literal["accepted", "rejected"]
    note: str
    inspector: str = Ref("inspector", "username")
    inspected_at: Timestamp
    #: The NC a rejection raised (its number).
    nc: str | None = Ref("nc", "number", default=None)
    #: The rejected inspection this one inspects again (its id).
    reinspection_of: int | None = Field(None, validation_alias="reinspection_of_id")
    #: Its photos (added by ``POST /api/v1/inspections/{id}/photos``); the NC a rejection raised has copies.
    photos: list[InspectionPhoto]
    #: The unit of its measurements (``cm`` or ``in``); null when no garment was measured.
    measure_unit: MeasureUnit | None
    #: Garments with a point out of tolerance, each counted as one MEA-01 defect in ``defects``.
    garments_out_of_tolerance: int
    measurements: list[MeasurementRecord]


class InspectionPhotos(Answer):
    items: list[InspectionPhoto]


class Inspections(Answer):
    items: list[Inspection]


@bp.post("/inspections")
@bp.input(NewFinalInspection, arg_name="command")
@bp.output(Inspection, status_code=201)
@requires(Permission.FILE_NC)
def record_inspection(command: NewFinalInspection):
    """Record a final inspection of a batch by ISO 2859-1 sampling

    The plans of the major and minor classes are read for the lot (level II, normal inspection, AQL 2.5 and 4.0
    unless given); the defects found are counted by code in their codes' classes. Any critical defect rejects
    the lot; otherwise each class must be at or under its Ac. A rejection raises an NC (``nc``) and puts the batch
    on hold, in the same step.
    """
    return final.record_final_inspection(command, request_user())


@bp.get("/inspections")
@bp.input(InspectionFilters, location="query", arg_name="filters")
@bp.output(Inspections)
@requires(Permission.VIEW)
def list_inspections(filters: InspectionFilters):
    """Inspections, newest first (the latest 200), of one batch when ``batch`` is given."""
    batch = masterdata.get_batch(filters.batch) if filters.batch else None
    return {"items": final.list_inspections(batch, measurements=True)}


class CodeShareAnswer(Record):
    code: str
    defect_class: DefectClass
    count: int
    #: Its share of its class's defects, and the running share down the class's ranking (percent).
    share: float
    cumulative: float


class FiguresAnswer(Record):
    """Final inspections of a period of plant days: first-pass acceptance and the codes found most, by class."""

    start: date
    end: date
    #: Original inspections (re-inspections left out).
    inspected: int
    accepted_first_time: int
    #: Percent; null when nothing was inspected.
    first_pass_rate: float | None
    #: Per class (critical, major, minor), the five codes found most, most first.
    top_defects: dict[str, list[CodeShareAnswer]]
    defects_by_class: dict[str, int]


@bp.get("/inspections/figures")
@bp.input(FiguresPeriod, location="query", arg_name="period")
@bp.output(FiguresAnswer)
@requires(Permission.VIEW)
def inspection_figures(period: FiguresPeriod):
    """First-pass acceptance and the defect Pareto by class of the final inspections from ``start`` to ``end``
    (plant days, both included; the last 28 days unless given). 400 naming ``end`` when it is before ``start``."""
    return FiguresAnswer.model_validate(figures.figures_for(period))


@bp.get("/inspections/<int:inspection_id>")
@bp.output(Inspection)
@requires(Permission.VIEW)
def get_inspection(inspection_id: int):
    return final.get_inspection(inspection_id)


PHOTOS_BODY = {
    "required": True,
    "description": "One or more photos in the field `file` (JPEG, PNG or HEIC, judged by their content; each at "
    "most CAPA_PHOTO_MAX_BYTES, 8 MB by default; at most 6 per inspection). A refused photo is named in the "
    "message of the field `file`; nothing is stored when any is refused.",
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"}}},
            }
        }
    },
}


PHOTO_ANSWER = {
    "description": "The photo's bytes, with its type.",
    "content": {
        "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
        "image/png": {"schema": {"type": "string", "format": "binary"}},
    },
}


@bp.post("/inspections/<int:inspection_id>/photos")
@bp.output(InspectionPhotos, status_code=201)
@bp.doc(
    extensions={"requestBody": PHOTOS_BODY},
    responses={413: "The body is larger than the photos allowed (`payload_too_large`); nothing was stored."},
)
@requires(Permission.FILE_NC)
def add_inspection_photos(inspection_id: int):
    """Add photos to an inspection

    The photos go on the inspection and, while the NC its rejection raised is open and has room for them, on the
    NC too (its history records them).
    """
    inspection = final.get_inspection(inspection_id)
    limit = max(current_app.config["MAX_CONTENT_LENGTH"] or 0, MAX_PHOTOS * photo_limit_bytes() + MULTIPART_ALLOWANCE)
    uploads, _ = multipart_files(limit)
    try:
        added = photos.add_inspection_photos(inspection, uploads, request_user())
    except DomainError as error:
        raise error.renamed({"photos": FILE_FIELD}) from None
    return {"items": added}


@bp.get("/inspections/<int:inspection_id>/photos/<int:photo_id>")
@bp.doc(responses={200: PHOTO_ANSWER})
@requires(Permission.VIEW)
def get_inspection_photo(inspection_id: int, photo_id: int):
    """A photo of an inspection

    Answered with its type (`image/jpeg` or `image/png`), `X-Content-Type-Options: nosniff` and
    `Cache-Control: private`.
    """
    photo = photos.get_inspection_photo(final.get_inspection(inspection_id), photo_id)
    response = send_stored(photos.open_inspection_photo(photo), mimetype=photo.content_type)
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


class SpecPointRecord(Record):
    point: str
    description: str
    tol_minus: Measured = Field(validation_alias="minus")
    tol_plus: Measured = Field(validation_alias="plus")
    #: The target of each size.
    targets: dict[str, Measured]


class MeasurementSpecAnswer(Answer):
    """A style's measurement spec: its unit, its sizes in order and its points of measure."""

    style: str
    unit: MeasureUnit
    sizes: list[str]
    points: list[SpecPointRecord]


def _spec_answer(style, spec: specs.StyleSpec) -> MeasurementSpecAnswer:
    return MeasurementSpecAnswer.model_validate(
        {"style": style.code, "unit": spec.unit, "sizes": spec.sizes, "points": [vars(p) for p in spec.points]}
    )


@bp.get("/styles/<code>/measurement-spec")
@bp.output(MeasurementSpecAnswer)
@requires(Permission.VIEW)
def get_measurement_spec(code: str):
    """A style's measurement spec

    404 naming `style` when the style has none yet.
    """
    style = masterdata.get_style(code)
    return _spec_answer(style, specs.get_spec(style))


@bp.put("/styles/<code>/measurement-spec")
@bp.input(MeasurementSpecChange, arg_name="command")
@bp.output(MeasurementSpecAnswer)
@requires(Permission.MAINTAIN_CATALOG)
def set_measurement_spec(code: str, command: MeasurementSpecChange):
    """Set a style's measurement spec

    The spec is replaced whole: its unit (`cm` or `in`), its sizes in order, and its points of measure, each with
    its tolerances below and above the target and a target for each size (numbers, or text such as `30 1/4`).
    Final inspections measure against it; those recorded before keep what they were judged against. The change
    and its reason are kept in the style's spec history. 400 naming `sizes` (a size twice), `points[i].point`
    (twice) or `points[i].targets` (not one target per size).
    """
    style = masterdata.get_style(code)
    return _spec_answer(style, specs.set_measurement_spec(style, command, request_user()))


class Switching(Answer):
    """Where the switching rules of ISO 2859-1 put the final inspection of a series of a line's lots now: one
    buyer's lots, or those of styles without a buyer."""

    line: str
    #: The buyer whose lots the series is (its code); null for the lots of styles without a buyer.
    buyer: str | None = None
    severity: Severity
    #: Why: the last switch made (``two_of_five_not_accepted``, ``five_accepted_on_tightened``,
    #: ``switching_score``, ``not_accepted_on_reduced``, ``production_irregular``,
    #: ``five_not_accepted_on_tightened``, ``resumed``), or ``start``.
    reason: str
    reason_text: str
    #: No lot of the series may be inspected until a quality manager resumes its inspection.
    discontinued: bool
    #: The switching score, during normal inspection.
    score: int
    lots_since_switch: int
    not_accepted_on_tightened: int


class Resumption(Record):
    line: str = Ref("line", "code")
    #: The buyer whose series resumed; null for the lots of styles without a buyer.
    buyer: str | None = Ref("buyer", "code", default=None)
    reason: str
    resumed_by: str = Ref("resumed_by", "username")
    resumed_at: Timestamp


def _switching(line, buyer) -> Switching:
    state = final.line_switching(line, buyer)
    return Switching(
        line=line.code,
        buyer=buyer.code if buyer is not None else None,
        severity=state.severity,
        reason=state.reason.value,
        reason_text=state.reason_text,
        discontinued=state.discontinued,
        score=state.score,
        lots_since_switch=state.lots_since_switch,
        not_accepted_on_tightened=state.not_accepted_on_tightened,
    )


@bp.get("/lines/<code>/inspection-switching")
@bp.input(SwitchingQuery, location="query", arg_name="query")
@bp.output(Switching)
@requires(Permission.VIEW)
def line_switching(code: str, query: SwitchingQuery):
    """Where the switching rules put the line's final inspection: the severity its next lot is inspected under,
    and why

    The lots of each buyer on a line are a series of their own: `buyer` names it (a buyer's code); without it, the
    series of the lots of styles without a buyer. 400 naming `buyer` for an unknown one.
    """
    line = masterdata.get_line(code)
    return _switching(line, masterdata.referenced_buyer(query.buyer))


@bp.post("/lines/<code>/inspection-resumption")
@bp.input(ResumeInspection, arg_name="command")
@bp.output(Resumption, status_code=201)
@requires(Permission.MAINTAIN_CATALOG)
def resume_line_inspection(code: str, command: ResumeInspection):
    """Resume the line's discontinued final inspection (tightened), saying what was corrected; `buyer` names the
    series (that buyer's lots), else the lots of styles without a buyer. 409 naming ``line`` when it is not
    discontinued, 400 naming `buyer` for an unknown buyer."""
    line = masterdata.get_line(code)
    buyer = masterdata.referenced_buyer(command.buyer)
    return final.resume_inspection(line, command.reason, request_user(), buyer)


class StyleAqlsAnswer(Answer):
    """The AQLs a style's final inspections are read with."""

    style: str
    aql_major: str
    aql_minor: str
    #: The style's own (true), or its buyer's or the defaults (false).
    own: bool
    #: Where they come from: ``style`` (its own), ``buyer`` (its buyer's), ``default``.
    source: aqls.AqlSource
    #: The style's buyer (its code), if it has one.
    buyer: str | None


def _aqls_answer(style, settings: aqls.AqlSettings) -> StyleAqlsAnswer:
    return StyleAqlsAnswer(
        style=style.code,
        aql_major=settings.major,
        aql_minor=settings.minor,
        own=settings.source is aqls.AqlSource.STYLE,
        source=settings.source,
        buyer=style.buyer.code if style.buyer is not None else None,
    )


@bp.get("/styles/<code>/aqls")
@bp.output(StyleAqlsAnswer)
@requires(Permission.VIEW)
def get_style_aqls(code: str):
    """The AQLs the style's final inspections are read with: its own, else its buyer's, else the defaults (major
    2.5, minor 4.0)."""
    style = masterdata.get_style(code)
    return _aqls_answer(style, aqls.aqls_for(style))


@bp.put("/styles/<code>/aqls")
@bp.input(StyleAqlsChange, arg_name="command")
@bp.output(StyleAqlsAnswer)
@requires(Permission.MAINTAIN_CATALOG)
def set_style_aqls(code: str, command: StyleAqlsChange):
    """Give the style its own AQLs, with the reason (kept in its AQL history at ``…/aqls/history``)."""
    style = masterdata.get_style(code)
    return _aqls_answer(style, aqls.set_style_aqls(style, command, request_user()))


@bp.delete("/styles/<code>/aqls")
@bp.input(AqlsRemoval, location="query", arg_name="query")
@bp.output(StyleAqlsAnswer)
@requires(Permission.MAINTAIN_CATALOG)
def drop_style_aqls(code: str, query: AqlsRemoval):
    """Take the style's own AQLs away

    The style is read with its buyer's AQLs from now on, or the defaults; `reason` says why (kept in its AQL
    history). 400 naming `reason` when none is given, 409 naming `style` when it has no AQLs of its own.
    """
    style = masterdata.get_style(code)
    return _aqls_answer(style, aqls.drop_style_aqls(style, query.reason or "", request_user()))


class BuyerAqlsAnswer(Answer):
    """The AQLs a buyer's styles without AQLs of their own are read with."""

    buyer: str
    aql_major: str
    aql_minor: str
    #: The buyer's own (true), or the defaults (false).
    own: bool


def _buyer_aqls_answer(buyer, settings: aqls.AqlSettings) -> BuyerAqlsAnswer:
    own = settings.source is aqls.AqlSource.BUYER
    return BuyerAqlsAnswer(buyer=buyer.code, aql_major=settings.major, aql_minor=settings.minor, own=own)


@bp.get("/buyers/<code>/aqls")
@bp.output(BuyerAqlsAnswer)
@requires(Permission.VIEW)
def get_buyer_aqls(code: str):
    """The AQLs of the buyer's styles that have none of their own: the buyer's, or the defaults."""
    buyer = masterdata.get_buyer(code)
    return _buyer_aqls_answer(buyer, aqls.buyer_aqls(buyer))


@bp.put("/buyers/<code>/aqls")
@bp.input(BuyerAqlsChange, arg_name="command")
@bp.output(BuyerAqlsAnswer)
@requires(Permission.MAINTAIN_CATALOG)
def set_buyer_aqls(code: str, command: BuyerAqlsChange):
    """Give the buyer its AQLs, with the reason (kept in its AQL history at ``…/aqls/history``); its styles with
    AQLs of their own keep them."""
    buyer = masterdata.get_buyer(code)
    return _buyer_aqls_answer(buyer, aqls.set_buyer_aqls(buyer, command, request_user()))
