"""The effectiveness review of a closed CAPA: its date set at closing (per defect type), the evidence since
closing, the verdict (effective, or not effective with a follow-up CAPA linked both ways), the quality
manager's queue, the daily reminder mail and a week's counts; through the API, the pages and the scheduler's
job, with mail going to a real SMTP server (aiosmtpd).

The NCs start from the loose-button story of the pages' tests (driven through the services). A review falls due
some weeks after closing; where a test needs that day to have come, it moves the stored due date back, as the
passing of time would.
"""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from capa.accounts import service as accounts
from capa.accounts.commands import NewUser
from capa.capas import effectiveness, filing, lookup, steps
from capa.capas.commands import (
    Cancel,
    Close,
    CompleteAction,
    Contain,
    FileNC,
    NewAction,
    Retest,
    Review,
    RootCause,
)
from capa.capas.models import NonConformance
from capa.common.clock import plant_today, plant_zone
from capa.common.commands import parse
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.commands import NewBatch
from capa.trends.scheduler import send_review_reminders
from tests.answers import ok
from tests.conftest import PASSWORD, ApiClient
from tests.pages import (
    errors_in,
    field_block,
    flashes,
    form_at,
    has_field,
    links,
    logged_in,
    one,
    parsed,
    section,
    text,
    textarea_text,
    texts,
    under_heading,
    version_in,
)
from tests.test_capa_pages import FILING, make_factory, make_people
from tests.test_trends_running import mail_config, smtp_server  # noqa: F401  (fixtures: a real SMTP server)

NOTE = "Six batches since closing: no loose snap at end-of-line; pull test passes inline."
FAILED_NOTE = "Two rompers lost snaps again at end-of-line in week 12: the density lock was bypassed."


@pytest.fixture
def people(app):
    return make_people()


class Workflow:
    """Files the loose-button NC of the pages' tests and takes it, through the services, to a state: contained,
    its root cause approved, one corrective action done, retested (passing) and closed."""

    def __init__(self, qm, sup):
        self.qm = qm
        self.sup = sup

    def file(self, **changes) -> str:
        data = {k: v for k, v in FILING.items() if v != ""} | {"parameters": list(FILING["parameters"])} | changes
        return filing.file_nc(parse(FileNC, data), self.sup).number

    def to(self, state: str, **changes) -> str:
        """An NC in ``state``: action, verification, ready (verification with a passing retest), closed or
        cancelled."""
        number = self.file(**changes)
        nc = lookup.get_nc(number)
        if state == "cancelled":
            steps.cancel(nc, parse(Cancel, {"reason": "A duplicate of another report."}), self.qm)
            return number
        steps.contain(nc, parse(Contain, {"description": "Rompers of batch B-1 sorted by hand."}), self.qm)
        steps.submit_root_cause(
            nc,
            parse(RootCause, {"whys": ["Stitch density low"], "category": "machine", "statement": "Density set low."}),
            self.sup,
        )
        steps.review(nc, parse(Review, {"password": PASSWORD, "decision": "approve"}), self.qm)
        due = (plant_today() + timedelta(days=7)).isoformat()
        action = steps.add_action(
            nc,
            parse(
                NewAction,
                {"kind": "corrective", "description": "Reset the density", "owner": self.qm.username, "due_date": due},
            ),
            self.qm,
        )
        if state == "action":
            return number
        steps.complete_action(action, parse(CompleteAction, {"evidence": "Density reset to 12 per cm."}), self.qm)
        if state == "verification":
            return number
        steps.record_test(
            nc, parse(Retest, {"parameter": "CN-ATT-GT6", "value": "95", "lab": "SGS", "report_number": "R-1"}), self.qm
        )
        if state == "ready":
            return number
        steps.close(
            nc, parse(Close, {"password": PASSWORD, "effectiveness": "Pull test passes on three batches."}), self.qm
        )
        return number


@pytest.fixture
def flow(app, people) -> Workflow:
    make_factory()
    return Workflow(people.qm, people.sup)


@pytest.fixture
def qm_api(client, people) -> ApiClient:
    return ApiClient(client, accounts.create_token(people.qm))


@pytest.fixture
def sup_api(client, people) -> ApiClient:
    return ApiClient(client, accounts.create_token(people.sup))


@pytest.fixture
def qm_client(app, people):
    return logged_in(app, people.qm)


@pytest.fixture
def sup_client(app, people):
    return logged_in(app, people.sup)


def detail(api: ApiClient, number: str) -> dict:
    return ok(api.get(f"/api/v1/nonconformances/{number}"))


def close(api: ApiClient, number: str, **extra) -> dict:
    version = detail(api, number)["version"]
    return ok(
        api.post(
            f"/api/v1/nonconformances/{number}/close",
            json={
                "password": PASSWORD,
                "effectiveness": "Pull test passes on three batches.",
                "version": version,
                **extra,
            },
        )
    )


def review(api: ApiClient, number: str, body: dict):
    """Record the effectiveness review, signed with the user's password unless ``body`` gives one."""
    return api.post(f"/api/v1/nonconformances/{number}/effectiveness-review", json={"password": PASSWORD, **body})


def closed(flow: Workflow, **changes) -> str:
    """An NC closed through the services today (its review due in 90 days)."""
    return flow.to("closed", **changes)


def come_due(number: str, days_ago: int = 0) -> None:
    """Time passes: the review of ``number`` falls due ``days_ago`` days before today."""
    db.session.execute(
        update(NonConformance)
        .where(NonConformance.number == number)
        .values(effectiveness_due=plant_today() - timedelta(days=days_ago))
    )
    db.session.commit()


def kinds(record: dict) -> list[str]:
    return [event["kind"] for event in record["history"]]


# The review date -------------------------------------------------------------------------------------------


def test_closing_sets_the_review_due_90_days_after_closing(flow, qm_api):
    number = flow.to("ready")
    answer = close(qm_api, number)
    today = plant_today()
    assert answer["effectiveness_review"]["due"] == (today + timedelta(days=90)).isoformat()
    assert answer["effectiveness_review"]["verdict"] is None
    assert answer["effectiveness_review"]["follow_ups"] == []
    [due] = [e for e in answer["history"] if e["kind"] == "field" and e["field"] == "effectiveness_due"]
    assert due["new"] == (today + timedelta(days=90)).isoformat()
    # Open CAPAs have no review yet.
    assert detail(qm_api, flow.to("action"))["effectiveness_review"] is None


def test_a_defect_type_with_30_days_gives_its_capas_a_review_30_days_after_closing(flow, qm_api, qm_client):
    page = qm_client.get("/defect-types/loose_button").text
    assert field_block(page, "effectiveness_days") is not None
    response = qm_client.post(
        "/defect-types/loose_button",
        data={
            "code": "loose_button",
            "name": "Loose button",
            "active": "yes",
            "parameters": ["CN-ATT-3TO6", "CN-ATT-GT6"],
            "effectiveness_days": "30",
        },
    )
    assert response.status_code == 302, response.text
    listed = {t["code"]: t for t in ok(qm_api.get("/api/v1/defect-types"))["items"]}
    assert listed["loose_button"]["effectiveness_days"] == 30
    assert listed["stain"]["effectiveness_days"] == 90
    number = flow.to("ready")
    answer = close(qm_api, number)
    assert answer["effectiveness_review"]["due"] == (plant_today() + timedelta(days=30)).isoformat()


@pytest.mark.parametrize("days", ["0", "731", "ninety", ""])
def test_review_days_out_of_range_are_refused_beside_the_field(flow, qm_client, days):
    response = qm_client.post(
        "/defect-types/loose_button",
        data={"code": "loose_button", "name": "Loose button", "active": "yes", "effectiveness_days": days},
    )
    assert response.status_code == 400
    assert errors_in(field_block(response.text, "effectiveness_days"))
    db.session.expire_all()
    assert lookup.find_defect_type("loose_button").effectiveness_days == 90


def test_closing_may_set_another_review_date_but_not_today(flow, qm_api):
    number = flow.to("ready")
    version = detail(qm_api, number)["version"]
    refused = qm_api.post(
        f"/api/v1/nonconformances/{number}/close",
        json={
            "password": PASSWORD,
            "effectiveness": "Fine.",
            "review_on": plant_today().isoformat(),
            "version": version,
        },
    )
    assert refused.status_code == 400
    assert set(refused.json["error"]["fields"]) == {"review_on"}
    assert detail(qm_api, number)["status"] == "verification"
    on = (plant_today() + timedelta(days=45)).isoformat()
    assert close(qm_api, number, review_on=on)["effectiveness_review"]["due"] == on


def test_the_closing_form_takes_a_review_date_and_refuses_today_beside_it(flow, qm_client):
    number = flow.to("ready")
    page = qm_client.get(f"/nc/{number}").text
    form = form_at(page, f"/nc/{number}/close")
    assert has_field(form, "review_on")
    data = {"version": version_in(form), "effectiveness": "Pull test passes on three batches.", "password": PASSWORD}
    refused = qm_client.post(f"/nc/{number}/close", data={**data, "review_on": plant_today().isoformat()})
    assert refused.status_code == 400
    assert errors_in(field_block(refused.text, "review_on")) == ["Choose a date from tomorrow on."]
    assert lookup.get_nc(number).status == "verification"
    on = plant_today() + timedelta(days=60)
    assert qm_client.post(f"/nc/{number}/close", data={**data, "review_on": on.isoformat()}).status_code == 302
    db.session.expire_all()
    assert lookup.get_nc(number).effectiveness_due == on


# The review ------------------------------------------------------------------------------------------------


def test_a_review_before_closing_is_refused_409(flow, qm_api):
    number = flow.to("verification")
    before = detail(qm_api, number)
    response = review(qm_api, number, {"verdict": "effective", "recurred": False, "note": NOTE})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "invalid_state"
    assert detail(qm_api, number) == before


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"recurred": False, "note": NOTE}, {"verdict"}),
        ({"verdict": "", "recurred": False, "note": NOTE}, {"verdict"}),
        ({"verdict": "maybe", "recurred": False, "note": NOTE}, {"verdict"}),
        ({"verdict": "effective", "note": NOTE}, {"recurred"}),
        ({"verdict": "effective", "recurred": False, "note": "  "}, {"note"}),
        ({}, {"verdict", "recurred", "note"}),
    ],
)
def test_a_review_missing_its_verdict_recurrence_or_note_is_refused_naming_each(flow, qm_api, body, fields):
    number = closed(flow)
    before = detail(qm_api, number)
    response = review(qm_api, number, body)
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == fields
    assert detail(qm_api, number) == before


def test_supervisor_may_not_review(flow, sup_api, qm_api):
    number = closed(flow)
    response = review(sup_api, number, {"verdict": "effective", "recurred": False, "note": NOTE})
    assert response.status_code == 403
    assert detail(qm_api, number)["effectiveness_review"]["verdict"] is None


def test_an_effective_review_is_recorded_once(flow, qm_api, people):
    number = closed(flow)
    version = detail(qm_api, number)["version"]
    answer = ok(review(qm_api, number, {"verdict": "effective", "recurred": False, "note": NOTE, "version": version}))
    recorded = answer["effectiveness_review"]
    assert (recorded["verdict"], recorded["recurred"], recorded["note"]) == ("effective", False, NOTE)
    assert recorded["reviewed_by"] == people.qm.username
    assert recorded["reviewed_at"] is not None
    assert recorded["follow_ups"] == []
    assert (answer["status"], answer["version"]) == ("closed", version + 1)
    event = answer["history"][-1]
    assert (event["kind"], event["new"], event["note"], event["by"]) == (
        "effectiveness_review",
        "effective",
        NOTE,
        people.qm.username,
    )

    again = review(qm_api, number, {"verdict": "not_effective", "recurred": True, "note": "Second thoughts."})
    assert again.status_code == 409
    assert again.json["error"]["code"] == "already_reviewed"
    assert detail(qm_api, number) == answer
    assert ok(qm_api.get("/api/v1/nonconformances", query_string={"defect_type": "loose_button"}))["total"] == 1


def test_a_review_on_a_version_from_before_another_persons_closing_is_refused(flow, qm_api, api):
    number = closed(flow)
    version = detail(qm_api, number)["version"]
    other = api("quality_manager")
    response = review(other, number, {"verdict": "effective", "recurred": False, "note": NOTE, "version": version - 1})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "stale_version"
    assert detail(qm_api, number)["effectiveness_review"]["verdict"] is None


def test_not_effective_opens_a_follow_up_capa_linked_both_ways(flow, qm_api, people):
    number = closed(flow)
    original = detail(qm_api, number)
    answer = ok(review(qm_api, number, {"verdict": "not_effective", "recurred": True, "note": FAILED_NOTE}))
    [follow_up_number] = answer["effectiveness_review"]["follow_ups"]
    assert answer["effectiveness_review"]["verdict"] == "not_effective"
    assert answer["effectiveness_review"]["recurred"] is True
    assert answer["follow_up_of"] is None
    follow_up_events = [e for e in answer["history"] if e["kind"] == "follow_up"]
    assert [e["new"] for e in follow_up_events] == [follow_up_number]
    assert kinds(answer).index("effectiveness_review") < kinds(answer).index("follow_up")

    follow_up = detail(qm_api, follow_up_number)
    assert follow_up["follow_up_of"] == number
    assert follow_up["status"] == "reported"
    assert follow_up["title"] == f"Follow-up of {number}: {original['title']}"
    assert FAILED_NOTE in follow_up["description"]
    assert number in follow_up["description"]
    same = ("defect_type", "line", "style", "batch", "parameters", "source", "severity", "category")
    assert {key: follow_up[key] for key in same} == {key: original[key] for key in same}
    assert follow_up["reported_by"] == people.qm.username
    assert kinds(follow_up)[0] == "filed"
    [origin] = [e for e in follow_up["history"] if e["kind"] == "follow_up_of"]
    assert (origin["new"], origin["note"]) == (number, FAILED_NOTE)
    # Filed through the filing service: numbered next, and checked for recurrence like any filing.
    assert follow_up["number"].endswith("00002")
    assert follow_up["recurrence_of"] == number


def test_a_follow_up_that_cannot_be_filed_refuses_the_review_and_stores_nothing(flow, qm_api, qm_client):
    number = closed(flow)
    before = detail(qm_api, number)
    # The defect type is no longer in use: no NC of it can be filed.
    response = qm_client.post(
        "/defect-types/loose_button",
        data={"code": "loose_button", "name": "Loose button", "active": "no", "effectiveness_days": "90"},
    )
    assert response.status_code == 302
    refused = review(qm_api, number, {"verdict": "not_effective", "recurred": True, "note": FAILED_NOTE})
    assert refused.status_code == 400
    assert set(refused.json["error"]["fields"]) == {"verdict"}
    assert detail(qm_api, number) == before
    assert ok(qm_api.get("/api/v1/nonconformances"))["total"] == 1


# The evidence since closing ----------------------------------------------------------------------------------


def test_recurrences_and_failing_results_since_closing_are_shown(flow, qm_api, qm_client, people):
    number = closed(flow)
    # Batch B-3 of the bib, with snaps of the romper's supplier.
    masterdata.create_batch(
        parse(
            NewBatch,
            {
                "number": "B-3",
                "style": "BIB-100",
                "line": "L2",
                "lots": [{"number": "SN-3", "kind": "trim", "supplier": "SNAP-01"}],
            },
        )
    )
    same_style = flow.file(title="Snaps off again on the romper")
    same_supplier = flow.file(title="Snap off a bib", batch="B-3", line="L2")
    flow.file(title="A bib of other material", batch="B-2", line="L2", parameters=[])
    flow.file(title="A stain on the romper", defect_type="stain", parameters=[])
    cancelled = flow.to("cancelled", title="Filed twice")
    today = plant_today().isoformat()
    for value, parameter, report in (("52", "CN-ATT-GT6", "PT-9001"), ("95", "CN-ATT-GT6", "PT-9002")):
        body = {"parameter": parameter, "value": value, "lab": "In-house lab", "report_number": report}
        ok(qm_api.post("/api/v1/batches/B-1/results", json={**body, "tested_at": today}), 201)
    # A failure of another parameter, and one on another style, are not this CAPA's evidence.
    ok(
        qm_api.post(
            "/api/v1/batches/B-1/results",
            json={"parameter": "CN-FORM", "value": "35", "lab": "SGS", "report_number": "F-1", "tested_at": today},
        ),
        201,
    )
    ok(
        qm_api.post(
            "/api/v1/batches/B-2/results",
            json={"parameter": "CN-ATT-GT6", "value": "40", "lab": "SGS", "report_number": "F-2", "tested_at": today},
        ),
        201,
    )

    evidence = detail(qm_api, number)["effectiveness_review"]["evidence_since_closing"]
    assert evidence["recurrences"] == [same_supplier, same_style]
    assert cancelled not in evidence["recurrences"]
    assert [(r["parameter"], r["value"], r["report_number"]) for r in evidence["failing_results"]] == [
        ("CN-ATT-GT6", "52", "PT-9001")
    ]

    page = qm_client.get(f"/nc/{number}").text
    shown = one(section(page, "d8"), "#effectiveness-evidence")
    assert [href for href in links(shown) if href.startswith("/nc/")] == [f"/nc/{same_supplier}", f"/nc/{same_style}"]
    [failing] = texts(shown, "ul.failing-results > li")
    assert "CN-ATT-GT6" in failing and "52" in failing and "PT-9001" in failing
    # The evidence stands above the form.
    html = section(page, "d8").html
    assert html.index("effectiveness-evidence") < html.index(f"/nc/{number}/effectiveness-review")


def test_without_anything_since_closing_the_page_says_so(flow, qm_client):
    number = closed(flow)
    shown = one(section(qm_client.get(f"/nc/{number}").text, "d8"), "#effectiveness-evidence")
    assert "No recurrence since closing." in text(shown)
    assert "No failing result since closing." in text(shown)


# The pages ------------------------------------------------------------------------------------------------


def test_the_closed_capa_page_shows_the_due_date_and_offers_the_quality_manager_the_form(flow, qm_client, sup_client):
    number = closed(flow)
    due = plant_today() + timedelta(days=90)
    page = qm_client.get(f"/nc/{number}").text
    d8 = section(page, "d8")
    assert "Due" in text(one(d8, "p.due"))
    form = form_at(page, f"/nc/{number}/effectiveness-review")
    for name in ("verdict", "recurred", "note", "version", "password"):
        assert has_field(form, name)
    # No verdict is chosen beforehand.
    radios = [node for node in parsed(form).css("input") if node.attributes.get("type") == "radio"]
    assert {r.attributes["value"] for r in radios} == {"effective", "not_effective", "yes", "no"}
    assert not any("checked" in r.attributes for r in radios)
    # Not due yet: the form waits folded.
    assert "open" not in one(d8, "#effectiveness details").attributes
    supervisor_page = sup_client.get(f"/nc/{number}").text
    assert f"/nc/{number}/effectiveness-review" not in supervisor_page
    assert str(due.year) in text(one(section(supervisor_page, "d8"), "p.due"))


def test_a_refused_review_keeps_what_was_typed_beside_each_problem(flow, qm_client):
    number = closed(flow)
    come_due(number)
    page = qm_client.get(f"/nc/{number}").text
    assert "open" in one(section(page, "d8"), "#effectiveness details").attributes
    version = version_in(form_at(page, f"/nc/{number}/effectiveness-review"))
    response = qm_client.post(
        f"/nc/{number}/effectiveness-review",
        data={"version": version, "recurred": "yes", "note": FAILED_NOTE, "password": PASSWORD},
    )
    assert response.status_code == 400
    form = form_at(response.text, f"/nc/{number}/effectiveness-review")
    assert errors_in(one(form, "#effectiveness-verdict")) == ["This field is required."]
    assert textarea_text(field_block(form, "note")) == FAILED_NOTE
    checked = [n.attributes["value"] for n in parsed(form).css("input") if "checked" in n.attributes]
    assert checked == ["yes"]
    assert lookup.get_nc(number).effectiveness_verdict is None


def test_a_not_effective_review_through_the_page_links_the_follow_up_both_ways(flow, qm_client, people):
    number = closed(flow)
    come_due(number)
    page = qm_client.get(f"/nc/{number}").text
    version = version_in(form_at(page, f"/nc/{number}/effectiveness-review"))
    response = qm_client.post(
        f"/nc/{number}/effectiveness-review",
        data={
            "version": version,
            "verdict": "not_effective",
            "recurred": "yes",
            "note": FAILED_NOTE,
            "password": PASSWORD,
        },
    )
    assert response.status_code == 302
    [follow_up] = lookup.get_nc(number).follow_ups
    page = qm_client.get(f"/nc/{number}").text
    assert [text(node) for node in flashes(page, "success")] == [
        f"Follow-up CAPA {follow_up.number} opened.",
        "Effectiveness review recorded.",
    ]
    d8 = section(page, "d8")
    assert "Not effective" in text(d8) and FAILED_NOTE in text(d8) and people.qm.username in text(d8)
    assert f"/nc/{follow_up.number}" in links(d8)
    assert f"/nc/{number}/effectiveness-review" not in page
    follow_up_page = qm_client.get(f"/nc/{follow_up.number}").text
    assert f"/nc/{number}" in links(one(follow_up_page, "#follow-up-of"))


def test_an_effective_review_through_the_page_is_shown_after(flow, qm_client):
    number = closed(flow)
    take = form_at(qm_client.get(f"/nc/{number}").text, f"/nc/{number}/effectiveness-review")
    response = qm_client.post(
        f"/nc/{number}/effectiveness-review",
        data={
            "version": version_in(take),
            "verdict": "effective",
            "recurred": "no",
            "note": NOTE,
            "password": PASSWORD,
        },
    )
    assert response.status_code == 302
    d8 = section(qm_client.get(f"/nc/{number}").text, "d8")
    assert "Effective" in text(d8) and NOTE in text(d8)
    assert lookup.get_nc(number).follow_ups == []


# The queue, the reminder and the week's counts -------------------------------------------------------------


def test_the_quality_managers_queue_lists_the_reviews_due(flow, qm_client, qm_api):
    due, later, reviewed = closed(flow), closed(flow), closed(flow)
    come_due(due, days_ago=3)
    come_due(reviewed)
    ok(review(qm_api, reviewed, {"verdict": "effective", "recurred": False, "note": NOTE}))
    queue = under_heading(qm_client.get("/").text, "Effectiveness reviews due")
    assert links(queue) == [f"/nc/{due}#d8"]
    assert later not in text(queue)
    assert [nc.number for nc in effectiveness.reviews_due(plant_today())] == [due]


def make_manager(name: str, *, email: bool = True, active: bool = True):
    user = accounts.create_user(
        parse(
            NewUser,
            {
                "username": name,
                "role": "quality_manager",
                "password": PASSWORD,
                **({"email": f"{name}@plant.example"} if email else {}),
            },
        )
    )
    if not active:
        user.active = False
        db.session.commit()
    return user


def test_the_reminder_job_mails_each_quality_manager_once_even_when_run_twice(mail_config, flow, people):  # noqa: F811
    make_manager("qm.li")
    make_manager("qm.zhou")
    make_manager("qm.nomail", email=False)
    make_manager("qm.gone", active=False)
    due, later = closed(flow), closed(flow)
    come_due(due)

    assert send_review_reminders() == 1
    assert send_review_reminders() == 0  # the same day again
    assert send_review_reminders(retry=True) == 0
    received = {tuple(rcpt): message for _sender, rcpt, message in mail_config.inbox.received}
    assert set(received) == {("qm.li@plant.example",), ("qm.zhou@plant.example",)}
    message = received[("qm.li@plant.example",)]
    assert message["Subject"] == "CAPA: 1 effectiveness review due"
    body = message.get_content()
    assert due in body and later not in body
    assert f"https://capa.plant.example/nc/{due}#d8" in body
    assert lookup.get_nc(due).effectiveness_reminded_at is not None
    assert lookup.get_nc(later).effectiveness_reminded_at is None

    # The next review to fall due is announced once too, on its day.
    come_due(later)
    assert send_review_reminders() == 1
    assert len(mail_config.inbox.messages) == 4
    assert send_review_reminders() == 0


def test_a_week_counts_the_reviews_due_done_and_failed(flow, qm_api):
    effective, failed, pending = closed(flow), closed(flow), closed(flow)
    for number in (effective, failed, pending):
        come_due(number, days_ago=1)
    ok(review(qm_api, effective, {"verdict": "effective", "recurred": False, "note": NOTE}))
    ok(review(qm_api, failed, {"verdict": "not_effective", "recurred": True, "note": FAILED_NOTE}))
    today = plant_today()
    monday = today - timedelta(days=today.weekday())
    start = datetime.combine(monday, datetime.min.time(), plant_zone())
    assert effectiveness.review_counts(start, start + timedelta(days=7)) == (
        3 if today.weekday() >= 1 else 0,
        2,
        1,
    )
    assert effectiveness.review_counts(monday - timedelta(days=7), monday) == (0 if today.weekday() >= 1 else 3, 0, 0)
