"""Measurements on the pages: the tally sheet's measurement grid (one input per size, point and garment,
``m-S-A-1``, against the spec of the batch's style), and a style's spec pasted from a spreadsheet on its page."""

from dataclasses import dataclass, field

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from capa.accounts.permissions import Permission, requires
from capa.common.commands import PLEASE_CORRECT, parse
from capa.common.errors import DomainError, ValidationError
from capa.inspections import specs
from capa.inspections.commands import MOST_MEASUREMENTS, MeasurementSpecChange
from capa.inspections.measurements import GridError, parse_grid, shown
from capa.masterdata import service as masterdata
from capa.web.forms import show_errors
from capa.web.inspections.forms import MEASURE_UNIT_LABELS, MeasurementSpecForm
from capa.web.masterdata import views as masterdata_pages

bp = Blueprint("measuring", __name__)


@bp.app_template_filter("measure")
def measure(number) -> str:
    """A measurement as the pages show it: exact, without trailing zeros (``30``, ``30.5``, ``0.125``)."""
    return shown(number)


@bp.app_context_processor
def measurement_labels():
    return {"measure_unit_labels": MEASURE_UNIT_LABELS, "measurement_input": input_name}


#: Garments per size the grid offers at first, how many more "More garments" adds, and the most it offers.
FIRST_GARMENTS, MORE_GARMENTS, MOST_GARMENTS = 3, 2, 20


def input_name(size: str, point: str, garment: int) -> str:
    return f"m-{size}-{point}-{garment}"


@dataclass
class MeasurementSheet:
    """The grid of a tally sheet: the spec measured against (None when the batch's style has none or the batch
    is not known yet), the garments offered per size, what was typed, and the errors beside the inputs."""

    spec: specs.StyleSpec | None
    garments: int
    #: input name -> the text sent ("" when nothing).
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, spec: specs.StyleSpec | None) -> "MeasurementSheet":
        """The grid of the form sent (empty on a first display), with more garments when "More garments" was
        pressed."""
        sheet = cls(spec, FIRST_GARMENTS, {})
        try:
            garments = int(request.form.get("garments", FIRST_GARMENTS))
        except ValueError:
            garments = FIRST_GARMENTS
        if "more_garments" in request.form:
            garments += MORE_GARMENTS
        sheet.garments = min(max(garments, FIRST_GARMENTS), sheet.most_garments)
        for size, point, garment in sheet.cells():
            name = input_name(size, point, garment)
            sheet.values[name] = request.form.get(name, "").strip()
        return sheet

    @property
    def most_garments(self) -> int:
        """The most garments per size the grid offers: MOST_GARMENTS, fewer when the spec is so large that more
        would offer more inputs than an inspection takes measurements."""
        if self.spec is None:
            return FIRST_GARMENTS
        per_garment = len(self.spec.sizes) * len(self.spec.points)
        return max(FIRST_GARMENTS, min(MOST_GARMENTS, MOST_MEASUREMENTS // per_garment))

    def cells(self) -> list[tuple[str, str, int]]:
        if self.spec is None:
            return []
        return [
            (size, point.point, garment)
            for size in self.spec.sizes
            for point in self.spec.points
            for garment in range(1, self.garments + 1)
        ]

    def measured(self) -> list[tuple[str, str, int, str]]:
        """(size, point, garment, value as typed) of the inputs filled in."""
        return [
            (size, point, garment, self.values[input_name(size, point, garment)])
            for size, point, garment in self.cells()
            if self.values.get(input_name(size, point, garment))
        ]

    def measurements(self) -> list[dict]:
        """The command's ``measurements``."""
        return [
            {"garment": garment, "size": size, "point": point, "value": value}
            for size, point, garment, value in self.measured()
        ]

    def set_aside(self, error: DomainError) -> DomainError:
        """Keep the errors ``error`` names on ``measurements[i]`` beside their inputs; answers the error with the
        others, for the form's own fields."""
        aliases = {
            f"measurements[{index}].{part}": input_name(size, point, garment)
            for index, (size, point, garment, _value) in enumerate(self.measured())
            for part in ("garment", "size", "point", "value")
        }
        error = error.renamed(aliases)
        self.errors = {name: message for name, message in error.fields.items() if name.startswith("m-")}
        rest = {name: message for name, message in error.fields.items() if name not in self.errors}
        return type(error)(error.message, fields=rest, **error.extra)


# A style's spec ----------------------------------------------------------------------------------------------------


def spec_command(form: MeasurementSpecForm) -> MeasurementSpecChange:
    """The command from the pasted grid and the form's other fields. Raises ValidationError naming ``grid`` (with
    the line at fault) and every other field at fault, in one round."""
    try:
        grid = parse_grid(form.grid.data or "")
        grid_problem = None
    except GridError as error:
        grid, grid_problem = None, _("Line %(line)d: %(problem)s", line=error.line, problem=error.problem)
    values = {
        "unit": form.unit.data,
        "reason": form.reason.data,
        "sizes": grid.sizes if grid else [],
        "points": [
            {
                "point": p.point,
                "description": p.description,
                "tol_minus": p.minus,
                "tol_plus": p.plus,
                "targets": p.targets,
            }
            for p in (grid.points if grid else [])
        ],
    }
    try:
        command = parse(MeasurementSpecChange, values)
    except ValidationError as error:
        if grid_problem is None:
            raise
        # The grid's own problem stands for whatever its missing sizes and points would be refused for.
        fields = {name: message for name, message in error.fields.items() if not name.startswith(("sizes", "points"))}
        raise ValidationError(error.message, fields=fields | {"grid": grid_problem}) from None
    if grid_problem is not None:
        raise ValidationError(str(PLEASE_CORRECT), fields={"grid": grid_problem})
    return command


@bp.post("/styles/<code>/measurement-spec")
@requires(Permission.MAINTAIN_CATALOG)
def style_measurement_spec(code: str):
    """Set a style's measurement spec from the grid pasted on its page: back to the page, or the page with the
    form's errors (the grid kept as pasted)."""
    style = masterdata.get_style(code)
    form = MeasurementSpecForm(prefix="spec")
    if form.validate_on_submit():
        try:
            specs.set_measurement_spec(style, spec_command(form), current_user)
        except DomainError as error:
            # A problem of the sizes or points read from the grid is the grid's.
            fields = {name: message for name, message in error.fields.items() if name in ("unit", "reason", "grid")}
            others = [message for name, message in error.fields.items() if name not in fields]
            if others:
                fields["grid"] = " ".join(others)
            show_errors(form, type(error)(error.message, fields=fields, **error.extra))
        else:
            flash(_("The measurement spec of %(code)s saved.", code=style.code), "success")
            return redirect(url_for("masterdata.style", code=style.code) + "#measurements")
    flash(_("Please correct the fields marked."), "error")
    return masterdata_pages.style_page(style, spec_form=form), 400
