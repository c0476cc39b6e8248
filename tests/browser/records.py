"""Records made through the services, in the app context that is current: what a browser test needs to find
in place without clicking it (the clicking is the stories' part), such as an NC in a given state."""

from datetime import datetime, timedelta

from capa.accounts import service as accounts
from capa.capas import dispositions, filing, lookup, steps
from capa.capas.commands import (
    Close,
    CompleteAction,
    Contain,
    Dispose,
    FileNC,
    NewAction,
    Retest,
    Review,
    RootCause,
)
from capa.common.clock import plant_today
from capa.common.commands import parse
from capa.inspections import line_checks, needles
from capa.inspections.commands import DetectorCheckReport, MetalDetectionReport, NeedleBreakReport, NewLineCheck
from tests.browser.people import QUALITY_MANAGER, SUPERVISOR
from tests.conftest import PASSWORD

#: The states of an NC in their order, as far as :func:`advance` takes one.
ORDER = ("reported", "investigation", "review", "action", "verification", "closed")


def file(
    *,
    title: str,
    defect_type: str,
    line: str,
    source: str = "inline",
    batch: str | None = None,
    parameters: list[str] | None = None,
    severity: str = "major",
    reported_at: datetime | None = None,
) -> str:
    """An NC filed by the supervisor (by the quality manager when back-dated, as only they may): its number."""
    values = {"title": title, "defect_type": defect_type, "line": line, "source": source, "severity": severity}
    values |= {"batch": batch} if batch else {}
    values |= {"parameters": parameters} if parameters else {}
    values |= {"reported_at": reported_at.isoformat()} if reported_at else {}
    actor = accounts.get_user(QUALITY_MANAGER if reported_at else SUPERVISOR)
    return filing.file_nc(parse(FileNC, values), actor).number


#: A passing retest value of each parameter the seeded defect types link.
PASSING = {
    "CN-ATT-GT6": "90",
    "CN-ATT-3TO6": "90",
    "CN-CF-SALIVA": "4",
    "CN-CF-PERSP-ACID": "4",
    "CN-CF-PERSP-ALK": "4",
}


def advance(number: str, to: str, *, hold: str = "") -> None:
    """Take NC ``number`` through the steps up to the state ``to``: containment (holding ``hold``), a root
    cause, its approval and one action owned by the supervisor, the action done, a passing retest of each
    linked parameter, the release of what is held and the close."""
    qm, sup = accounts.get_user(QUALITY_MANAGER), accounts.get_user(SUPERVISOR)
    for state in ORDER[ORDER.index(lookup.get_nc(number).status) + 1 : ORDER.index(to) + 1]:
        nc = lookup.get_nc(number)
        if state == "investigation":
            what = "Goods on hold; 100% check ordered."
            steps.contain(nc, parse(Contain, {"description": what, "hold": [hold] if hold else []}), qm)
        elif state == "review":
            cause = {
                "whys": ["Snaps come off at a light pull.", "Stitch density below standard."],
                "fishbone": {"machine": ["Stitch density set below standard"]},
                "category": "machine",
                "statement": "The button machine's stitch density was set below the standard.",
            }
            steps.submit_root_cause(nc, parse(RootCause, cause), sup)
        elif state == "action":
            steps.review(nc, parse(Review, {"password": PASSWORD, "decision": "approve", "comment": "Agreed."}), qm)
            due = (plant_today() + timedelta(days=14)).isoformat()
            action = {"kind": "corrective", "description": "Retrain the operators.", "owner": sup.username}
            steps.add_action(nc, parse(NewAction, action | {"due_date": due}), qm)
        elif state == "verification":
            [action] = [a for a in nc.actions if a.status == "open"]
            steps.complete_action(action, parse(CompleteAction, {"evidence": "Sign-off sheet TR-7."}), sup)
        elif state == "closed":
            for parameter in nc.parameters:
                result = {"parameter": parameter.code, "value": PASSING[parameter.code], "report_number": "PT-1"}
                steps.record_test(lookup.get_nc(number), parse(Retest, result | {"lab": "In-house lab"}), qm)
            # Passing retests release nothing: the quality manager releases what is still held.
            for held in [h.id for h in lookup.get_nc(number).holds if h.released_at is None]:
                release = {
                    "kind": "release",
                    "reason": "Sorted 100%.",
                    "evidence": "The retests passed.",
                    "password": PASSWORD,
                }
                dispositions.dispose(lookup.get_nc(number), held, parse(Dispose, release), qm)
            steps.close(
                lookup.get_nc(number), parse(Close, {"password": PASSWORD, "effectiveness": "No loose snap since."}), qm
            )


def check_line(line: str, stage: str, units: int, defective: int, counts: dict[str, int]) -> int:
    """An inline or end-of-line check of ``line`` made now by the supervisor; its id."""
    command = parse(
        NewLineCheck,
        {
            "line": line,
            "stage": stage,
            "units_checked": units,
            "defective_units": defective,
            "defects": [{"code": code, "count": count} for code, count in counts.items()],
        },
    )
    return line_checks.record_line_check(command, accounts.get_user(SUPERVISOR)).check.id


def needle_control() -> int:
    """This shift's needle control: the detector checked, a needle broken with its fragments, one without (its NC),
    and two garments that set the detector off; the id of the needle whose fragment is missing."""
    sup = accounts.get_user(SUPERVISOR)
    needles.record_detector_check(
        parse(DetectorCheckReport, {"detector": "MD-1", "test_piece": "Fe 1.0 mm", "detected": True}), sup
    )
    for found, bundle in ((True, None), (False, "T-0815")):
        report = {"line": "L1", "operator": "Op 12", "machine": "SN-07", "all_fragments_found": found, "bundle": bundle}
        logged = needles.log_needle_break(parse(NeedleBreakReport, report), sup)
    detection = {"detector": "MD-1", "line": "L1", "batch": "B-2301-01", "garments": 2}
    needles.record_metal_detection(parse(MetalDetectionReport, detection), sup)
    return logged.id
