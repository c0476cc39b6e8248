"""Dispositions of goods on hold, and the re-inspection of a rework (the rules: :mod:`capa.capas.dispositions`)."""

from capa.accounts.permissions import requires
from capa.api.blueprint import bp
from capa.api.capas import SIGNED, NCDetail
from capa.capas import dispositions, lookup
from capa.capas.commands import Dispose, Reinspect
from capa.capas.policy import step_permission
from capa.capas.states import Step
from capa.http.guard import request_user


@bp.post("/nonconformances/<number>/holds/<int:hold_id>/dispositions")
@bp.input(Dispose, arg_name="command")
@bp.output(NCDetail, status_code=201)
@bp.doc(
    responses={
        400: "The input breaks a rule of dispositions: `fields` names it (`kind` for a release of goods from a "
        "supplier that is not approved, `quantity` for more than remains, `evidence` for a release resting on "
        "nothing, `results[i]` for a result of other goods, `concession_buyer` / `concession_reference` for a use "
        "as is without its concession, `hold` for goods out of quarantine already, `password` when it is sent "
        "without the password that signs it).",
        401: "No valid API token (`unauthorized`), or the `password` signing the disposition is not the token's "
        "user's (`signature_refused`, naming `password`); nothing was recorded.",
        404: "No such NC, or no such hold on it.",
        429: SIGNED[429],
    }
)
@requires(step_permission(Step.DISPOSE))
def dispose(number: str, hold_id: int, command: Dispose):
    """Decide a disposition of goods on hold

    A quality manager's decision on (part of) a held batch or lot, while the NC is open: `release` (resting on
    `results` of this NC or of the held goods, or on an `evidence` text), `rework` (covers its quantity once
    re-inspected and passed), `scrap`, `return_to_supplier`, or `use_as_is` under a buyer's concession
    (`concession_buyer` and `concession_reference` required). `quantity` left out takes what remains (the rest,
    when the quantity held is unknown). The hold leaves quarantine once its dispositions cover it whole; passing
    results never release goods by themselves. Signed electronically with the quality manager's `password` (its
    meaning follows the kind: `released_batch`, `reworked_batch`, `scrapped_batch`, `returned_to_supplier`,
    `used_as_is`). Answers the whole NC.
    """
    nc = lookup.get_nc(number)
    dispositions.dispose(nc, hold_id, command, request_user())
    return nc


@bp.post("/dispositions/<int:disposition_id>/reinspection")
@bp.input(Reinspect, arg_name="command")
@bp.output(NCDetail)
@bp.doc(
    responses={
        400: "`id` when the disposition is not a rework or was re-inspected already; `note` when a failed "
        "re-inspection says nothing.",
        404: "No such disposition.",
    }
)
@requires(step_permission(Step.DISPOSE))
def reinspect(disposition_id: int, command: Reinspect):
    """Record the re-inspection of a rework

    `passed`: the reworked quantity is covered (the hold leaves quarantine when its dispositions cover it
    whole); not passed (with a `note`): the quantity goes back to the hold, to be disposed of again. Once per
    rework. Answers the whole NC.
    """
    disposition = dispositions.get_disposition(disposition_id)
    dispositions.reinspect(disposition_id, command, request_user())
    return disposition.hold.nc
