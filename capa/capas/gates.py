"""The closing gates of a CAPA, and the facts they rest on.

A CAPA closes only when: its latest root cause is approved; it has actions and every one is done; the latest
retest of every linked parameter passes; every hold has left quarantine, by dispositions covering its whole
quantity (:mod:`capa.capas.dispositions`; a rework waiting for its re-inspection covers nothing yet); and an
effectiveness note is given. "The latest result" is decided in one place for every record,
:func:`capa.safety.service.latest_results`.
"""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from capa.capas import dispositions
from capa.capas.models import (
    ActionStatus,
    NonConformance,
    RootCauseAnalysis,
)
from capa.safety import service as safety
from capa.safety.judging import Outcome
from capa.safety.models import LabResult


def approved_analysis(nc: NonConformance) -> RootCauseAnalysis | None:
    latest = nc.analyses[-1] if nc.analyses else None
    return latest if latest is not None and latest.decision == "approve" else None


def latest_tests(nc: NonConformance) -> dict[int, LabResult]:
    """The latest retest on this NC per parameter id."""
    return safety.latest_results(LabResult.nc_id == nc.id)


@dataclass(frozen=True)
class Gate:
    gate: str
    message: str
    parameter: str | None = None

    def to_dict(self) -> dict[str, str]:
        body = {"gate": self.gate, "message": self.message}
        if self.parameter:
            body["parameter"] = self.parameter
        return body


def unmet_gates(nc: NonConformance, effectiveness: str | None) -> list[Gate]:
    """Each closing gate still open: an approved root cause, every action done, the latest retest of every
    linked parameter passing, every hold disposed of whole, and an effectiveness note."""
    unmet = []
    if approved_analysis(nc) is None:
        unmet.append(Gate("root_cause_approved", str(_l("The root cause has not been approved."))))
    if not nc.actions or any(a.status != ActionStatus.DONE for a in nc.actions):
        unmet.append(Gate("actions_done", str(_l("Not every action is done."))))
    latest = latest_tests(nc)
    for parameter in nc.parameters:
        result = latest.get(parameter.id)
        if result is None:
            unmet.append(Gate("retest_passed", str(_l("%(code)s has no retest.", code=parameter.code)), parameter.code))
        elif result.verdict != Outcome.PASS:
            unmet.append(
                Gate(
                    "retest_passed",
                    str(_l("The latest retest of %(code)s did not pass.", code=parameter.code)),
                    parameter.code,
                )
            )
    held = dispositions.undisposed(nc)
    if held:
        # Goods still in quarantine: only the quality manager's dispositions release them, never a passing retest.
        message = _l("Still on hold, without dispositions covering the whole quantity: %(what)s.", what="; ".join(held))
        unmet.append(Gate("holds_released", str(message)))
    if not (effectiveness or "").strip():
        unmet.append(Gate("effectiveness", str(_l("An effectiveness note is required."))))
    return unmet
