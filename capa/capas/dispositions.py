"""Dispositions of goods on hold: what a quality manager decides for a held batch or lot, and when it leaves
quarantine.

The rules:
- goods on hold leave quarantine only by a quality manager's dispositions covering their whole quantity (or by
  the cancelling of their NC, which was no real non-conformance: :func:`capa.capas.steps.cancel`). Passing
  results never release anything by themselves: the page proposes them as the evidence of a release
  (:func:`proposed_evidence`), the quality manager decides;
- a disposition (:func:`dispose`, the step ``dispose``: a quality manager, while the NC is open) is a release,
  a rework then a re-inspection, a scrap, a return to the supplier, or a use as is under a buyer's concession.
  It records the quantity it covers, who decided, when and why (``reason``, required), and what it rests on:
  ``evidence`` in words and ``results``, lab results of this NC (its retests, the result it was raised from) or
  of the held batch or lot (another, or an unknown one, is refused naming ``results[i]``). Dispositions are
  kept, never edited; a hold may be split across several;
- quantity: when the hold's quantity is known, what remains is that quantity less what earlier dispositions
  cover or have taken (a rework waiting for its re-inspection has taken its quantity; a failed re-inspection
  gives it back). A disposition without a quantity takes what remains; more than remains, or anything when
  nothing remains, is refused naming ``quantity``. When the hold's quantity is unknown, a disposition without a
  quantity covers "the rest" (stored without a quantity: the hold whole), one with a quantity a part of it;
  while the rest waits for a re-inspection nothing more may be disposed of, and while a part waits for its
  re-inspection the rest may not be disposed of (it would take the hold out of quarantine with that part
  unchecked) (``quantity``);
- a release rests on evidence: at least one result or an evidence text (else ``evidence``); the results a
  release rests on passed (a failing or not-applicable one is refused naming ``results[i]``);
- a release of a lot whose supplier is not approved (conditional or suspended), or of a batch made with such a
  lot, is refused naming ``kind``: such goods are used as they are only under a buyer's concession, or get
  another disposition;
- a use as is names the buyer who granted the concession and its reference (``concession_buyer``,
  ``concession_reference``, each required); another kind carrying them is refused naming the field;
- a rework covers its quantity only once re-inspected and passed (:func:`reinspect`, the same step: passed or
  not, with a ``note`` required when not; only a rework, once, else ``id``);
- when the dispositions that cover (releases, scraps, returns, uses as is, passed reworks) reach the hold's
  whole quantity, or one of them covers the rest of a hold of unknown quantity, the hold leaves quarantine:
  ``released_at`` and ``released_by`` are set and ``release_reason`` sums the dispositions up;
- the release of a hold with a reason (:func:`release_remaining`, the API's and the page's older "release" with
  its ``reason``) is a release disposition of what remains, the reason as its evidence, under the same rules
  (a refusal names ``hold``).

Every disposition, the release with a reason too, is signed electronically by the quality manager deciding it,
with their ``password`` (:mod:`capa.capas.signatures`; its meaning follows the kind: ``released_batch``,
``reworked_batch``, ``scrapped_batch``, ``returned_to_supplier``, ``used_as_is``), checked once the decision's
own rules are met; a missing password is refused naming ``password`` (400), a wrong one too (401
``signature_refused``), and nothing is recorded. A re-inspection is not signed: the rework's disposition was.

Each change goes through :func:`capa.capas.history.changing` (role, state, version, history: entries
``disposition``, ``reinspection`` and ``release``); a decision made on an older version is stale when another
person changed the NC's state or holds since (:data:`HOLDS`). Errors: NotFound (404) for a hold that is not
the NC's or an unknown disposition; ValidationError (400) naming the field, for a hold that left quarantine
already ``hold``; PermissionDenied (403), InvalidState and StaleVersion (409) from the policy and the history.
"""

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from capa.accounts.models import User
from capa.capas import signatures
from capa.capas.commands import Contain, Dispose, Reinspect, ReleaseHold
from capa.capas.history import Journal, authorize, changing
from capa.capas.labels import DISPOSITION_LABELS
from capa.capas.lookup import invalid
from capa.capas.models import Disposition, DispositionKind, Hold, NonConformance
from capa.capas.states import Step
from capa.common.clock import plant_today
from capa.common.commands import parse
from capa.common.errors import NotFound, ValidationError
from capa.common.types import utcnow
from capa.extensions import db
from capa.masterdata.models import Batch, MaterialLot, batch_lots
from capa.safety import service as safety
from capa.safety.coverage import UnapprovedLot, unapproved_lots
from capa.safety.judging import Outcome
from capa.safety.models import LabResult

#: What a decision on a hold rests on besides the state, as the history names it: another person's hold,
#: disposition, re-inspection or release since the version the decision was made on makes it stale
#: (:func:`capa.capas.history.authorize`).
HOLDS = frozenset({"hold", "disposition", "reinspection", "release"})

#: The kinds that cover their quantity once decided; a rework covers it once re-inspected and passed.
COVER_AT_ONCE = frozenset(
    {DispositionKind.RELEASE, DispositionKind.SCRAP, DispositionKind.RETURN_TO_SUPPLIER, DispositionKind.USE_AS_IS}
)


def covers(disposition: Disposition) -> bool:
    """Whether ``disposition`` counts towards the hold leaving quarantine."""
    if disposition.kind == DispositionKind.REWORK:
        return disposition.reinspection_passed is True
    return disposition.kind in COVER_AT_ONCE


def waits(disposition: Disposition) -> bool:
    """A rework waiting for its re-inspection: its quantity is taken, not yet covered."""
    return disposition.kind == DispositionKind.REWORK and disposition.reinspected_at is None


@dataclass(frozen=True)
class Coverage:
    """How far a hold's dispositions go: what they cover, what waits for a re-inspection, what remains."""

    hold: Hold
    #: The quantity the covering dispositions with a quantity cover.
    covered: int
    #: The quantity reworks waiting for their re-inspection have taken.
    waiting: int
    #: A covering disposition covers the rest of a hold of unknown quantity.
    rest_covered: bool
    #: A rework of the rest of a hold of unknown quantity waits for its re-inspection.
    rest_waiting: bool
    #: The reworks waiting for their re-inspection.
    reworks: list[Disposition] = field(default_factory=list)

    @property
    def remaining(self) -> int | None:
        """What no disposition covers or has taken yet; None when the hold's quantity is unknown."""
        if self.hold.quantity is None:
            return None
        if self.rest_covered or self.rest_waiting:
            return 0
        return max(self.hold.quantity - self.covered - self.waiting, 0)

    @property
    def complete(self) -> bool:
        """The dispositions cover the hold whole: it leaves quarantine."""
        if self.rest_covered:
            return True
        return self.hold.quantity is not None and self.covered >= self.hold.quantity


def coverage(hold: Hold) -> Coverage:
    dispositions = hold.dispositions
    return Coverage(
        hold=hold,
        covered=sum(d.quantity for d in dispositions if covers(d) and d.quantity is not None),
        waiting=sum(d.quantity for d in dispositions if waits(d) and d.quantity is not None),
        rest_covered=any(covers(d) and d.quantity is None for d in dispositions),
        rest_waiting=any(waits(d) and d.quantity is None for d in dispositions),
        reworks=[d for d in dispositions if waits(d)],
    )


def remaining(hold: Hold) -> int | None:
    """The quantity of ``hold`` no disposition covers or has taken yet (0 once it left quarantine); None when
    its quantity is unknown."""
    if hold.released_at is not None:
        return 0 if hold.quantity is not None else None
    return coverage(hold).remaining


# Reading ----------------------------------------------------------------------------------------------------


def load_holds(nc: NonConformance) -> list[Hold]:
    """The NC's holds with their dispositions, the results these rest on, and the suppliers of the held lots,
    read in a few queries whatever their number (never one per hold)."""
    holds = (
        db.session.scalars(
            select(Hold)
            .where(Hold.nc_id == nc.id)
            .order_by(Hold.id)
            .options(
                selectinload(Hold.dispositions).options(
                    selectinload(Disposition.results).selectinload(LabResult.parameter),
                    joinedload(Disposition.decided_by),
                    joinedload(Disposition.reinspected_by),
                ),
                joinedload(Hold.batch).selectinload(Batch.lots).joinedload(MaterialLot.supplier),
                joinedload(Hold.lot).joinedload(MaterialLot.supplier),
            )
        )
        .unique()
        .all()
    )
    # The NC's list of holds is these (in its order, by id), without reading them again.
    set_committed_value(nc, "holds", list(holds))
    return nc.holds


def get_disposition(disposition_id: int) -> Disposition:
    """The disposition with this id; raises NotFound."""
    disposition = db.session.get(Disposition, disposition_id) if 0 < disposition_id < 2**31 else None
    if disposition is None:
        raise NotFound(str(_l("No disposition %(id)s.", id=disposition_id)), fields={"id": "unknown"})
    return disposition


def proposed_evidence(nc: NonConformance, hold: Hold) -> list[LabResult]:
    """The results a release of ``hold`` may rest on: the latest result of each of the NC's linked parameters
    among the NC's retests and the results on the held batch or lot, when it passes."""
    return proposed_evidence_for(nc, [hold])[hold.id]


def proposed_evidence_for(nc: NonConformance, holds: list[Hold]) -> dict[int, list[LabResult]]:
    """:func:`proposed_evidence` of each of ``holds`` (by hold id), in one query."""
    proposed: dict[int, list[LabResult]] = {hold.id: [] for hold in holds}
    parameter_ids = [parameter.id for parameter in nc.parameters]
    if not parameter_ids or not holds:
        return proposed
    where = [LabResult.nc_id == nc.id]
    batch_ids = {hold.batch_id for hold in holds if hold.batch_id is not None}
    lot_ids = {hold.lot_id for hold in holds if hold.lot_id is not None}
    if batch_ids:
        where.append(LabResult.batch_id.in_(batch_ids))
    if lot_ids:
        where.append(LabResult.lot_id.in_(lot_ids))
    query = (
        select(LabResult)
        .where(LabResult.parameter_id.in_(parameter_ids), or_(*where))
        .options(selectinload(LabResult.parameter))
    )
    results = list(db.session.scalars(safety.newest_first(query)))
    for hold in holds:
        latest = safety.latest_of(result for result in results if _about(result, nc, hold))
        passing = [result for result in latest.values() if result.verdict == Outcome.PASS]
        proposed[hold.id] = sorted(passing, key=lambda result: result.parameter.code)
    return proposed


def _about(result: LabResult, nc: NonConformance, hold: Hold) -> bool:
    """Whether a disposition of ``hold`` may rest on ``result``: a result of the NC, or of the held goods."""
    return (
        result.nc_id == nc.id
        or (nc.source_result_id is not None and result.id == nc.source_result_id)
        or (hold.batch_id is not None and result.batch_id == hold.batch_id)
        or (hold.lot_id is not None and result.lot_id == hold.lot_id)
    )


def held_lots_unapproved(hold: Hold) -> list[UnapprovedLot]:
    """The held lot, or the lots of the held batch, whose supplier is not approved for them
    (:mod:`capa.masterdata.approval`), for the parameters the goods are to meet: the NC's own, and those of the
    plans of the styles they go into (a held batch's style; for a held lot, the styles of the batches it feeds
    and of the NC's batch). A constant number of statements, however many batches the lot feeds."""
    if hold.lot is None:
        in_batch = select(MaterialLot).join(batch_lots).where(batch_lots.c.batch_id == hold.batch_id)
        lots, batches = list(db.session.scalars(in_batch.options(selectinload(MaterialLot.supplier)))), [hold.batch]
    else:
        feeding = select(Batch).join(batch_lots).where(batch_lots.c.lot_id == hold.lot_id)
        lots = [hold.lot]
        batches = [*db.session.scalars(feeding.options(selectinload(Batch.style))), hold.nc.batch]
    styles = {batch.style_id: batch.style for batch in batches if batch is not None}
    required = {parameter.code: parameter for parameter in hold.nc.parameters}
    for parameters in safety.required_of_styles(styles.values()).values():
        required.update((parameter.code, parameter) for parameter in parameters)
    return unapproved_lots(lots, required.values(), plant_today())


def undisposed(nc: NonConformance) -> list[str]:
    """Each hold of ``nc`` still in quarantine, as the closing gate names it: what no disposition covers yet,
    and the reworks waiting for their re-inspection."""
    described = []
    for hold in nc.holds:
        if hold.released_at is not None:
            continue
        state = coverage(hold)
        parts = []
        if hold.quantity is not None and state.remaining:
            parts.append(
                str(_l("%(left)d of %(held)d without a disposition", left=state.remaining, held=hold.quantity))
            )
        elif hold.quantity is None and hold.dispositions and not state.rest_waiting:
            parts.append(str(_l("the rest without a disposition")))
        for rework in state.reworks:
            parts.append(
                str(_l("a rework of %(quantity)s waiting for its re-inspection", quantity=_quantity_text(rework)))
            )
        described.append(f"{hold.subject} ({', '.join(parts)})" if parts else hold.subject)
    return described


def _quantity_text(disposition: Disposition) -> str:
    return str(disposition.quantity) if disposition.quantity is not None else str(_l("the rest"))


# Holding ----------------------------------------------------------------------------------------------------


def held_quantities(nc: NonConformance, command: Contain) -> tuple[dict[str, int], dict[str, str]]:
    """The quantities a containment gives, by the number held as stored (upper-cased), and the problems with
    them by field: a key that is not one of ``hold``'s numbers, or a number this NC holds already with another
    quantity or with dispositions made (``quantities.<number>`` as sent)."""
    numbers = {number.upper() for number in command.hold or []}
    open_holds = {hold.subject: hold for hold in nc.holds if hold.released_at is None}
    quantities: dict[str, int] = {}
    problems: dict[str, str] = {}
    for key, quantity in command.quantities.items():
        number = key.strip().upper()
        held = open_holds.get(number)
        if number not in numbers:
            problems[f"quantities.{key}"] = str(_l("%(number)s is not among the numbers put on hold.", number=key))
        elif held is not None and held.quantity != quantity and (held.quantity is not None or held.dispositions):
            problems[f"quantities.{key}"] = str(
                _l(
                    "%(number)s is on hold already (%(quantity)s): its quantity is not changed here.",
                    number=number,
                    quantity=held.quantity if held.quantity is not None else _l("quantity unknown"),
                )
            )
        else:
            quantities[number] = quantity
    return quantities, problems


def count_held(hold: Hold, quantity: int | None, journal: Journal) -> None:
    """Give a hold of unknown quantity the quantity a later containment counted (checked by
    :func:`held_quantities`)."""
    if quantity is None or hold.quantity == quantity:
        return
    hold.quantity = quantity
    journal.record("hold", new=hold.subject, note=held_note(quantity))


def held_note(quantity: int | None) -> str:
    """What the history says of a hold's quantity."""
    return "" if quantity is None else str(_l("%(quantity)d held", quantity=quantity))


# Deciding ---------------------------------------------------------------------------------------------------


def dispose(nc: NonConformance, hold_id: int, command: Dispose, actor: User) -> Disposition:
    """Record a quality manager's disposition of (part of) the NC's hold ``hold_id`` (the module's rules); the
    hold leaves quarantine when the dispositions cover it whole.

    Raises PermissionDenied, InvalidState or StaleVersion first; NotFound for a hold not of this NC;
    ValidationError naming ``hold``, ``kind``, ``quantity``, ``evidence``, ``results[i]``,
    ``concession_buyer`` or ``concession_reference``; then ValidationError (missing) or SignatureRefused (wrong)
    naming ``password``.
    """
    authorize(nc, actor, Step.DISPOSE, version=command.version, touches=HOLDS)
    hold = _hold_of(nc, hold_id)
    quantity, results = _checked(nc, hold, command)
    with changing(nc, actor, Step.DISPOSE, version=command.version, touches=HOLDS) as journal:
        signatures.check_password(actor, command.password)
        disposition = _record(hold, command, quantity, results, actor, journal)
        signatures.record(nc, actor, signatures.disposition_meaning(command.kind), disposition=disposition)
    return disposition


def release_remaining(nc: NonConformance, hold_id: int, command: ReleaseHold, actor: User) -> Hold:
    """Release what remains of the NC's hold ``hold_id`` with a ``reason``: a release disposition resting on
    the reason as its evidence, refused as :func:`dispose` refuses a release (naming ``hold``), and signed as
    it is (``password``)."""
    authorize(nc, actor, Step.RELEASE_HOLD, version=command.version, touches=HOLDS)
    hold = _hold_of(nc, hold_id)
    release = parse(
        Dispose, {"kind": DispositionKind.RELEASE.value, "reason": command.reason, "evidence": command.reason}
    )
    try:
        quantity, results = _checked(nc, hold, release)
    except ValidationError as error:
        raise invalid({"hold": " ".join(dict.fromkeys(error.fields.values()))}) from None
    with changing(nc, actor, Step.RELEASE_HOLD, version=command.version, touches=HOLDS) as journal:
        signatures.check_password(actor, command.password)
        disposition = _record(hold, release, quantity, results, actor, journal)
        signatures.record(nc, actor, signatures.disposition_meaning(release.kind), disposition=disposition)
    return hold


def reinspect(disposition_id: int, command: Reinspect, actor: User) -> Disposition:
    """Record the re-inspection of a rework: passed, its quantity is covered (and the hold may leave
    quarantine); failed (a ``note`` required), its quantity is given back to the hold.

    Raises NotFound for an unknown disposition; PermissionDenied, InvalidState or StaleVersion; ValidationError
    naming ``id`` (not a rework, or re-inspected already) or ``note``.
    """
    disposition = get_disposition(disposition_id)
    hold = disposition.hold
    nc = hold.nc
    authorize(nc, actor, Step.DISPOSE, version=command.version, touches=HOLDS)
    if disposition.kind != DispositionKind.REWORK:
        raise invalid({"id": str(_l("Only a rework is re-inspected."))})
    if disposition.reinspected_at is not None:
        raise invalid({"id": str(_l("This rework was re-inspected already."))})
    if not command.passed and not command.note:
        raise invalid({"note": str(_l("Say what the re-inspection found: a failed one needs a note."))})
    with changing(nc, actor, Step.DISPOSE, version=command.version, touches=HOLDS) as journal:
        disposition.reinspected_at = utcnow()
        disposition.reinspected_by = actor
        disposition.reinspection_passed = command.passed
        disposition.reinspection_note = command.note or ""
        journal.record(
            "reinspection",
            field=hold.subject,
            new=f"{_quantity_code(disposition)} {'passed' if command.passed else 'failed'}",
            note=command.note or "",
        )
        _leave_quarantine_when_covered(hold, actor, journal)
    return disposition


def _hold_of(nc: NonConformance, hold_id: int) -> Hold:
    hold = next((h for h in nc.holds if h.id == hold_id), None)
    if hold is None:
        raise NotFound(str(_l("No such hold on %(number)s.", number=nc.number)), fields={"hold": "unknown"})
    if hold.released_at is not None:
        raise invalid({"hold": str(_l("%(subject)s is released already.", subject=hold.subject))})
    return hold


def _checked(nc: NonConformance, hold: Hold, command: Dispose) -> tuple[int | None, list[LabResult]]:
    """The quantity the disposition covers and the results it rests on; raises ValidationError naming each
    field that breaks a rule."""
    errors: dict[str, str] = {}
    quantity = _quantity(hold, command, errors)
    if command.kind == DispositionKind.RELEASE:
        if not command.results and not command.evidence:
            errors["evidence"] = str(
                _l("A release rests on evidence: tick the results it rests on, or describe the evidence.")
            )
        unapproved = held_lots_unapproved(hold)
        if unapproved:
            errors["kind"] = str(
                _l(
                    "%(lots)s comes from a supplier that is not approved for it (%(why)s): it cannot be released. "
                    "Use it as is under a buyer's concession, or choose another disposition.",
                    lots=", ".join(entry.lot.number for entry in unapproved),
                    why=" ".join(dict.fromkeys(entry.why for entry in unapproved)),
                )
            )
    for name in ("concession_buyer", "concession_reference"):
        given = getattr(command, name)
        if command.kind == DispositionKind.USE_AS_IS and not given:
            errors[name] = str(_l("A use as is needs the buyer's concession: give its buyer and its reference."))
        elif command.kind != DispositionKind.USE_AS_IS and given:
            errors[name] = str(_l("Only a use as is rests on a buyer's concession."))
    results = _results(nc, hold, command.results, errors)
    if command.kind == DispositionKind.RELEASE:
        for index, result_id in enumerate(command.results):
            result = next((r for r in results if r.id == result_id), None)
            if result is not None and result.verdict != Outcome.PASS and f"results[{index}]" not in errors:
                errors[f"results[{index}]"] = str(
                    _l("Result %(id)d did not pass: a release rests only on passing results.", id=result_id)
                )
    if errors:
        raise invalid(errors)
    return quantity, results


def _quantity(hold: Hold, command: Dispose, errors: dict[str, str]) -> int | None:
    state = coverage(hold)
    if hold.quantity is None:
        if state.rest_waiting:
            errors["quantity"] = str(
                _l("The rest of %(subject)s is being reworked: record its re-inspection first.", subject=hold.subject)
            )
        elif command.quantity is None and state.reworks:
            errors["quantity"] = str(
                _l(
                    "A rework of part of %(subject)s waits for its re-inspection: record it before disposing of the "
                    "rest, or give a quantity.",
                    subject=hold.subject,
                )
            )
        return command.quantity
    left = state.remaining
    if not left:
        errors["quantity"] = str(
            _l(
                "Nothing of %(subject)s is left to dispose of: the reworks waiting for their re-inspection hold "
                "the rest.",
                subject=hold.subject,
            )
        )
        return None
    if command.quantity is not None and command.quantity > left:
        errors["quantity"] = str(
            _l("At most %(left)d of %(held)d remain to dispose of.", left=left, held=hold.quantity)
        )
    return left if command.quantity is None else command.quantity


def _results(nc: NonConformance, hold: Hold, ids: list[int], errors: dict[str, str]) -> list[LabResult]:
    if not ids:
        return []
    found = {result.id: result for result in db.session.scalars(select(LabResult).where(LabResult.id.in_(ids)))}
    results = []
    for index, result_id in enumerate(ids):
        result = found.get(result_id)
        if result is None:
            errors[f"results[{index}]"] = str(_l("No lab result %(id)d.", id=result_id))
        elif not _about(result, nc, hold):
            errors[f"results[{index}]"] = str(
                _l(
                    "Result %(id)d is neither a result of %(number)s nor of %(subject)s.",
                    id=result_id,
                    number=nc.number,
                    subject=hold.subject,
                )
            )
        elif result not in results:
            results.append(result)
    return results


def _record(
    hold: Hold, command: Dispose, quantity: int | None, results: list[LabResult], actor: User, journal: Journal
) -> Disposition:
    disposition = Disposition(
        kind=command.kind.value,
        quantity=quantity,
        reason=command.reason,
        evidence=command.evidence or "",
        concession_buyer=command.concession_buyer or "",
        concession_reference=command.concession_reference or "",
        decided_by=actor,
        decided_at=utcnow(),
        results=results,
    )
    hold.dispositions.append(disposition)
    journal.record(
        "disposition",
        field=hold.subject,
        new=f"{command.kind.value} {_quantity_code(disposition)}",
        note=command.reason,
    )
    _leave_quarantine_when_covered(hold, actor, journal)
    return disposition


def _quantity_code(disposition: Disposition) -> str:
    # As the history stores it, beside the kind's code: a figure, or "rest".
    return str(disposition.quantity) if disposition.quantity is not None else "rest"


def _leave_quarantine_when_covered(hold: Hold, actor: User, journal: Journal) -> None:
    if hold.released_at is not None or not coverage(hold).complete:
        return
    covering = [d for d in hold.dispositions if covers(d)]
    hold.released_at = utcnow()
    hold.released_by = actor
    hold.release_reason = "; ".join(_summary(d, alone=len(covering) == 1) for d in covering)
    journal.record("release", old=hold.subject, note=hold.release_reason)


def _summary(disposition: Disposition, *, alone: bool) -> str:
    """A covering disposition as the reason its hold left quarantine says it: ``Scrap 400: torn``; the only
    one, covering a hold of unknown quantity whole, without a quantity: ``Release: sorted 100%``."""
    kind = DISPOSITION_LABELS[DispositionKind(disposition.kind)]
    if alone and disposition.quantity is None:
        return str(_l("%(kind)s: %(reason)s", kind=kind, reason=disposition.reason))
    return str(
        _l(
            "%(kind)s %(quantity)s: %(reason)s",
            kind=kind,
            quantity=_quantity_text(disposition),
            reason=disposition.reason,
        )
    )
