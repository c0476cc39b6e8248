"""Supplier accounts and the corrective action requests sent to suppliers: a SCAR action sent by a quality manager,
answered by the supplier's people in rounds, each accepted or returned; a supplier's account reaches its own
requests and nothing else, on every route of the app; reminders go to the supplier by mail (a real SMTP server).
"""

import io
import threading
from datetime import timedelta

import pytest
from flask_babel import force_locale as app_locale
from sqlalchemy import create_engine, select, text, update

from capa.accounts import service as accounts
from capa.accounts.commands import NewUser, UserChanges
from capa.accounts.models import User
from capa.accounts.permissions import Permission
from capa.capas.models import Action, NonConformance
from capa.common.clock import plant_today
from capa.common.commands import parse
from capa.common.display import local_date
from capa.common.errors import ValidationError
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.safety.models import LabResult
from capa.suppliers import accounts as supplier_accounts
from capa.suppliers import scars
from capa.suppliers.models import ScarRequest
from capa.suppliers.reminders import send_scar_reminders
from capa.trends.scheduler import send_supplier_reminders
from tests.conftest import PASSWORD, POSTGRES_URL, ApiClient, wait_for_a_lock_waiter
from tests.images import jpeg
from tests.pages import cells, errors_in, field_block, logged_in, one, parsed, table_rows
from tests.test_capa_stories_api import floor  # noqa: F401  (fixture: the stories' people and master data)
from tests.test_permissions import ABSENT, declared_views
from tests.test_trends_running import mail_config, smtp_down, smtp_server  # noqa: F401  (fixtures: a real SMTP server)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% 8D report of the dye house\ntrailer << >>\n%%EOF\n"


def day(offset: int) -> str:
    return (plant_today() + timedelta(days=offset)).isoformat()


def created(response, status=201):
    assert response.status_code == status, response.json
    return response.json


def supplier_account(username: str, supplier: str, email: str | None = None, language: str | None = None):
    user = supplier_accounts.create_account(
        parse(NewUser, {"username": username, "role": "supplier", "password": PASSWORD, "email": email}), supplier
    )
    if language:
        accounts.set_language(user, language)
    return user


@pytest.fixture
def world(app, client, make_user):
    """A bib's saliva fastness failure on dye lot DL-1 of DYE (an NC with a SCAR action), the snap supplier SNAP's
    lot in the same batch, and an account at each supplier."""
    qm_user = make_user("quality_manager", "qm.li")
    qm = ApiClient(client, accounts.create_token(qm_user))
    for code, name in (("DYE", "Sunrise Dye House"), ("SNAP", "Snap Co")):
        created(qm.post("/api/v1/suppliers", json={"code": code, "name": name}))
    created(qm.post("/api/v1/lines", json={"code": "L2", "name": "Line 2"}))
    created(qm.post("/api/v1/styles", json={"code": "BIB", "name": "Baby bib", "category": "A"}))
    lots = [
        {"number": "DL-1", "kind": "dye_lot", "supplier": "DYE"},
        {"number": "SN-1", "kind": "trim", "supplier": "SNAP"},
    ]
    created(qm.post("/api/v1/batches", json={"number": "B-1", "style": "BIB", "line": "L2", "lots": lots}))
    nc = created(
        qm.post(
            "/api/v1/nonconformances",
            json={
                "title": "Bib bleeds in saliva",
                "description": "Saliva fastness grade 3 on the bib front.",
                "defect_type": "colorfastness_failure",
                "source": "lab_test",
                "line": "L2",
                "batch": "B-1",
                "parameters": ["CN-CF-SALIVA"],
            },
        )
    )
    number = nc["number"]
    nc_id = db.session.scalar(select(NonConformance.id).where(NonConformance.number == number))
    # Its retests, written as the retest step leaves them: one on the dye lot, one on the snaps (another
    # supplier's, never shared with DYE).
    for lot, report in (("DL-1", "LR-1"), ("SN-1", "LR-2")):
        body = {
            "parameter": "CN-CF-SALIVA",
            "value": "3",
            "lab": "SGS",
            "report_number": report,
            "lot": lot,
            "tested_at": day(0),
        }
        result_id = created(qm.post("/api/v1/batches/B-1/results", json=body))["id"]
        db.session.execute(update(LabResult).where(LabResult.id == result_id).values(nc_id=nc_id))
        db.session.commit()
    added = logged_in(app, qm_user).post(f"/nc/{number}/photos", data={"photos": (io.BytesIO(jpeg()), "bib.jpg")})
    assert added.status_code == 302
    actions = []
    for kind, what in (("scar", "SCAR to the dye house: report every change of chemicals."), ("corrective", "Rewash.")):
        action = Action(
            nc_id=nc_id, kind=kind, description=what, owner_id=qm_user.id, due_date=plant_today() + timedelta(days=30)
        )
        db.session.add(action)
        actions.append(action)
    db.session.commit()
    dye_user = supplier_account("dye.chen", "DYE", email="chen@dye.example", language="zh_Hans_CN")
    snap_user = supplier_account("snap.wu", "SNAP", email="wu@snap.example")
    return type(
        "World",
        (),
        {
            "qm": qm,
            "qm_user": qm_user,
            "number": number,
            "scar_id": actions[0].id,
            "corrective_id": actions[1].id,
            "dye": ApiClient(client, accounts.create_token(dye_user)),
            "snap": ApiClient(client, accounts.create_token(snap_user)),
            "dye_user": dye_user,
            "snap_user": snap_user,
        },
    )


def send(world, **overrides) -> dict:
    body = {
        "action": world.scar_id,
        "supplier": "DYE",
        "containment_due": day(2),
        "answer_due": day(14),
        "message": "Send your 8D with the fixing agent's data sheet.",
    } | overrides
    return world.qm.post("/api/v1/scar-requests", json=body)


# Accounts ---------------------------------------------------------------------------------------------------------


def test_a_supplier_account_is_created_bound_to_its_supplier_from_the_command_line(app, runner, world):
    made = runner.invoke(
        args=["user", "create", "dye.lin", "--role", "supplier", "--supplier", "dye", "--password", "long-enough-pw-1"]
    )
    assert made.exit_code == 0, made.output
    assert "for supplier DYE" in made.output
    assert accounts.get_user("dye.lin").supplier_id == masterdata.find_supplier("DYE").id
    for args, problem in [
        (["--role", "supplier"], "Name the supplier"),
        (["--role", "supervisor", "--supplier", "DYE"], "Only a supplier's account"),
        (["--role", "supplier", "--supplier", "NOPE"], "No supplier with the code NOPE"),
    ]:
        refused = runner.invoke(args=["user", "create", "other.one", *args, "--password", "long-enough-pw-1"])
        assert refused.exit_code != 0 and problem in refused.output, refused.output
    assert accounts.find_user("other.one") is None
    # A supplier's account never becomes the factory's, nor the other way round.
    for username, role in (("dye.lin", "supervisor"), ("qm.li", "supplier")):
        with pytest.raises(ValidationError) as refusal:
            accounts.update_user(accounts.get_user(username), parse(UserChanges, {"role": role}))
        assert set(refusal.value.fields) == {"role"}


def test_an_administrator_creates_a_supplier_account_in_the_users_page(app, world, make_user):
    admin = logged_in(app, make_user("admin", "admin.wu"))
    form = {"username": "snap.li", "role": "supplier", "password": "long-enough-pw-1", "supplier": ""}
    refused = admin.post("/users/new", data=form)
    assert refused.status_code == 400
    assert errors_in(field_block(refused.text, "supplier"))
    assert field_block(refused.text, "username").css_first("input").attributes["value"] == "snap.li"
    assert admin.post("/users/new", data=form | {"supplier": "SNAP"}).status_code == 302
    row = next(row for row in table_rows(admin.get("/users").text) if "snap.li" in cells(row)[0])
    assert "SNAP" in cells(row)[2]


# Sending and answering ---------------------------------------------------------------------------------------------


def test_a_request_is_sent_answered_in_rounds_and_accepted(app, world):
    qm, dye, snap = world.qm, world.dye, world.snap
    # What a quality manager may not send.
    assert created(send(world, containment_due=day(-1)), 400)["error"]["fields"].keys() == {"containment_due"}
    assert created(send(world, answer_due=day(1)), 400)["error"]["fields"].keys() == {"answer_due"}
    assert created(send(world, supplier="NOPE"), 400)["error"]["fields"].keys() == {"supplier"}
    assert created(send(world, action=world.corrective_id), 409)["error"]["fields"] == {"action": "not_scar"}
    assert created(world.snap.post("/api/v1/scar-requests", json={"action": world.scar_id}), 403)

    sent = created(send(world))
    assert created(send(world), 409)["error"]["fields"] == {"action": "sent"}
    request_id = sent["id"]
    assert (sent["number"], sent["supplier"], sent["status"], sent["late"]) == (
        f"SCAR-{request_id:05d}",
        "DYE",
        "sent",
        False,
    )

    # The dye house sees its request, and of the NC's results only those on its own lot.
    assert [r["id"] for r in created(dye.get("/api/v1/scar-requests"), 200)["items"]] == [request_id]
    assert created(snap.get("/api/v1/scar-requests"), 200)["items"] == []
    shown = created(dye.get(f"/api/v1/scar-requests/{request_id}"), 200)
    assert [(r["parameter"], r["lot"]) for r in shown["nc"]["results"]] == [("CN-CF-SALIVA", "DL-1")]
    assert shown["nc"]["parameters"] == ["CN-CF-SALIVA"]
    assert (shown["nc"]["number"], shown["action"]) == (None, None)  # the factory's own references
    assert created(qm.get(f"/api/v1/scar-requests/{request_id}"), 200)["nc"]["number"] == world.number
    assert shown["message"] == "Send your 8D with the fixing agent's data sheet."
    [photo] = shown["nc"]["photos"]
    assert dye.get(photo["url"]).data[:2] == b"\xff\xd8"
    # Another supplier finds nothing there.
    assert created(snap.get(f"/api/v1/scar-requests/{request_id}"), 404)["error"]["code"] == "not_found"
    assert snap.get(photo["url"]).status_code == 404

    # Round 1, with the 8D as a PDF; nothing else can be answered until it is reviewed.
    answer = {
        "containment": "Lot DL-1 recalled; 1,200 m sorted.",
        "whys": ["Dye bled.", "Dye not fixed.", ""],
        "root_cause": "Cheaper fixing agent.",
        "actions": "Back to the old agent.",
    }
    assert created(dye.post(f"/api/v1/scar-requests/{request_id}/answers", json=answer | {"root_cause": ""}), 400)[
        "error"
    ]["fields"].keys() == {"root_cause"}
    assert created(snap.post(f"/api/v1/scar-requests/{request_id}/answers", json=answer), 404)
    assert created(qm.post(f"/api/v1/scar-requests/{request_id}/answers", json=answer), 403)
    round_one = created(
        dye.post(
            f"/api/v1/scar-requests/{request_id}/answers",
            data={
                **{k: v for k, v in answer.items() if k != "whys"},
                "whys": answer["whys"],
                "file": (io.BytesIO(PDF), "8D.pdf"),
            },
            content_type="multipart/form-data",
        )
    )
    assert (round_one["round"], round_one["whys"], round_one["decision"]) == (1, ["Dye bled.", "Dye not fixed."], None)
    [evidence] = round_one["files"]
    assert dye.get(evidence["url"]).data == PDF and qm.get(evidence["url"]).data == PDF
    assert snap.get(evidence["url"]).status_code == 404
    assert created(dye.post(f"/api/v1/scar-requests/{request_id}/answers", json=answer), 409)["error"]["fields"] == {
        "request": "answered"
    }

    # Returned: a comment is required; a new day may be given.
    review = f"/api/v1/scar-requests/{request_id}/answers/1/review"
    assert created(qm.post(review, json={"decision": "return"}), 400)["error"]["fields"].keys() == {"comment"}
    assert created(dye.post(review, json={"decision": "accept"}), 403)
    early = qm.post(review, json={"decision": "return", "comment": "Again.", "answer_due": day(1)})
    assert created(early, 400)["error"]["fields"] == {"answer_due": "Not before the containment is due."}
    returned = created(
        qm.post(
            review, json={"decision": "return", "comment": "Show the lab dip of the old agent.", "answer_due": day(21)}
        ),
        200,
    )
    assert (returned["decision"], returned["reviewed_by"]) == ("return", "qm.li")
    assert created(qm.post(review, json={"decision": "accept"}), 409)["error"]["fields"] == {"round": "reviewed"}
    after = created(dye.get(f"/api/v1/scar-requests/{request_id}"), 200)
    assert (after["status"], after["answer_due"]) == ("sent", day(21))

    # Round 2, accepted: the request is closed, both rounds kept with their reviews.
    created(
        dye.post(
            f"/api/v1/scar-requests/{request_id}/answers", json=answer | {"actions": "Old agent; lab dip per lot."}
        )
    )
    created(qm.post(f"/api/v1/scar-requests/{request_id}/answers/2/review", json={"decision": "accept"}), 200)
    final = created(qm.get(f"/api/v1/scar-requests/{request_id}"), 200)
    assert final["status"] == "accepted" and final["accepted_at"]
    assert [(a["round"], a["decision"], a["comment"]) for a in final["answers"]] == [
        (1, "return", "Show the lab dip of the old agent."),
        (2, "accept", ""),
    ]
    assert [r["status"] for r in created(qm.get("/api/v1/scar-requests?supplier=DYE"), 200)["items"]] == ["accepted"]
    assert created(qm.get("/api/v1/scar-requests?supplier=SNAP"), 200)["items"] == []

    # The NC's 8D report shows the supplier's rounds under its SCAR action, with their evidence and reviews.
    report = logged_in(app, world.qm_user).get(f"/nc/{world.number}/report").text
    [answers] = parsed(report).css("#d5 .scar-answers")
    shown = answers.text()
    assert f"SCAR-{request_id:05d}" in shown and "Accepted" in shown
    assert "Cheaper fixing agent." in shown and "Old agent; lab dip per lot." in shown
    assert "Show the lab dip of the old agent." in shown and "Dye bled. → Dye not fixed." in shown
    [link] = answers.css("ul.files a")
    assert (link.text(), link.attributes["href"]) == (
        "8D.pdf",
        evidence["url"].removeprefix("/api/v1").replace("scar-requests", "scars"),
    )


def test_the_supplier_answers_in_its_pages_and_a_refused_answer_keeps_what_was_typed(app, world):
    request_id = created(send(world))["id"]
    dye = logged_in(app, world.dye_user)
    home = dye.get("/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/scars")
    listing = dye.get("/scars")
    assert listing.status_code == 200
    # Nothing of the factory's menu: its requests alone.
    assert "file-now" not in listing.text and 'href="/nc"' not in listing.text
    page = dye.get(f"/scars/{request_id}")
    assert page.status_code == 200 and "Bib bleeds in saliva" in page.text
    assert "LR-2" not in page.text  # the snap supplier's result
    form = {"containment": "Lot recalled.", "why1": "Dye bled.", "root_cause": "", "actions": "Old agent."}
    refused = dye.post(
        f"/scars/{request_id}/answer",
        data=form | {"files": (io.BytesIO(PDF), "8D.pdf")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400
    assert errors_in(field_block(refused.text, "root_cause"))
    assert field_block(refused.text, "containment").css_first("textarea").text() == "Lot recalled."
    kept = one(refused.text, 'input[name="kept_file"]').attributes["value"]
    sent = dye.post(f"/scars/{request_id}/answer", data=form | {"root_cause": "Cheaper agent.", "kept_file": kept})
    assert sent.status_code == 302
    answered = db.session.get(ScarRequest, request_id)
    db.session.refresh(answered)
    assert answered.status == "answered" and [f.original_name for f in answered.answers[0].files] == ["8D.pdf"]

    qm = logged_in(app, world.qm_user)
    nc_page = qm.get(f"/nc/{world.number}")
    assert f"/scars/{request_id}" in nc_page.text
    refused = qm.post(f"/scars/{request_id}/answers/1/review", data={"decision": "return", "comment": ""})
    assert refused.status_code == 400 and errors_in(field_block(refused.text, "comment"))
    assert qm.post(f"/scars/{request_id}/answers/1/review", data={"decision": "accept"}).status_code == 302
    assert one(dye.get(f"/scars/{request_id}").text, ".badge.scar-accepted")


def test_a_quality_manager_sends_a_scar_action_from_the_nc_page(app, world):
    qm = logged_in(app, world.qm_user)
    nc_page = qm.get(f"/nc/{world.number}")
    assert f"/scars/send/{world.scar_id}" in nc_page.text
    form = qm.get(f"/scars/send/{world.scar_id}")
    # The suppliers the NC is charged to come first: the dye lot's (saliva fastness is the dyed fabric's).
    options = [o.attributes["value"] for o in one(form.text, "select#supplier").css("option")]
    assert options[0] == "DYE"
    refused = qm.post(
        f"/scars/send/{world.scar_id}", data={"supplier": "DYE", "containment_due": day(-3), "answer_due": day(10)}
    )
    assert refused.status_code == 400 and errors_in(field_block(refused.text, "containment_due"))
    sent = qm.post(
        f"/scars/send/{world.scar_id}", data={"supplier": "DYE", "containment_due": day(1), "answer_due": day(10)}
    )
    assert sent.status_code == 302
    assert db.session.scalar(select(ScarRequest.supplier_id).where(ScarRequest.action_id == world.scar_id)) is not None


# Isolation --------------------------------------------------------------------------------------------------------

#: What a supplier's account may reach: its requests (and its files and the photos they share), who it is, the
#: home page that sends it to its requests; logging in and out and choosing a language are anyone's.
SUPPLIER_ROUTES = {
    "home.index",
    "scars.scar_list",
    "scars.scar",
    "scars.answer",
    "scars.photo",
    "scars.file",
    "api.me",
    "api.list_scar_requests",
    "api.get_scar_request",
    "api.answer_scar_request",
    "api.get_scar_file",
    "api.get_scar_photo",
}


def test_a_supplier_account_reaches_nothing_but_its_own_requests_on_every_route(app, world):
    own = created(send(world))["id"]
    page_client = logged_in(app, world.snap_user)
    token = accounts.create_token(world.snap_user)
    walked = 0
    wrong = []
    # Logging in, choosing a language and the API's public document are anyone's, logged in or not.
    views = [(rule, method, need) for rule, method, need in declared_views(app) if need is not Permission.PUBLIC]
    for rule, method, _need in views:
        arguments = {name: ABSENT[name] for name in rule.arguments}
        # The requests' routes are walked with a real request of another supplier: as "not found" as none.
        if "request_id" in arguments:
            arguments["request_id"] = own
        path = rule.build(arguments, append_unknown=False)[1]
        is_api = path.startswith("/api/")
        client = page_client
        headers = {"Authorization": f"Bearer {token}"} if is_api else {}
        response = client.open(path, method=method, json={} if is_api and method != "GET" else None, headers=headers)
        walked += 1
        if rule.endpoint in SUPPLIER_ROUTES:
            allowed = {"home.index": {302}, "scars.scar_list": {200}, "api.me": {200}, "api.list_scar_requests": {200}}
            expected = allowed.get(rule.endpoint, {404})
        else:
            expected = {403}
        if response.status_code not in expected:
            wrong.append(f"{method} {path}: {response.status_code}, expected {sorted(expected)}")
    assert walked == len(views) > 250
    assert wrong == [], "\n".join(wrong)
    # Its list holds none of the other supplier's requests.
    assert created(world.snap.get("/api/v1/scar-requests"), 200)["items"] == []
    assert "SCAR-" not in page_client.get("/scars").text


# Reminders --------------------------------------------------------------------------------------------------------


def test_the_supplier_is_reminded_by_mail_before_the_answer_is_due_and_when_late(mail_config, world):  # noqa: F811
    inbox = mail_config.inbox
    request_id = created(send(world, containment_due=day(0), answer_due=day(1)))["id"]
    # The hourly retry sends nothing on a day the daily job has not opened.
    assert send_supplier_reminders(retry=True) == 0 and inbox.messages == []
    assert send_supplier_reminders() == 1
    assert send_scar_reminders() == 0  # once
    [message] = inbox.messages
    assert message["To"] == "chen@dye.example"
    # In the account's language (Chinese), with the link to the request.
    body = message.get_content()
    assert f"/scars/{request_id}" in body and "SCAR-" in body
    assert "纠正措施要求" in message["Subject"]
    # Late: the day moved back as if the days had passed.
    found = db.session.get(ScarRequest, request_id)
    found.containment_due = plant_today() - timedelta(days=5)
    found.answer_due = plant_today() - timedelta(days=1)
    db.session.commit()
    assert send_scar_reminders() == 1
    assert send_scar_reminders() == 0
    assert len(inbox.messages) == 2
    assert created(world.dye.get(f"/api/v1/scar-requests/{request_id}"), 200)["late"] is True


def test_the_containment_is_reminded_of_apart_until_an_answer_gives_it(mail_config, world):  # noqa: F811
    inbox = mail_config.inbox
    request_id = created(send(world, containment_due=day(1), answer_due=day(10)))["id"]
    with_english_account(request_id)
    assert send_supplier_reminders() == 1
    [soon] = inbox.messages
    assert "due soon" in soon["Subject"]
    with app_locale("en"):
        tomorrow, yesterday = local_date(plant_today() + timedelta(days=1)), local_date(plant_today() - timedelta(1))
    assert f"(containment due {tomorrow})" in soon.get_content() and "answer due" not in soon.get_content()
    # Due soon once, then late once; the answer, due in ten days, is not reminded of yet.
    found = db.session.get(ScarRequest, request_id)
    found.containment_due = plant_today() - timedelta(days=1)
    db.session.commit()
    assert send_scar_reminders() == 1 and send_scar_reminders() == 0
    late = inbox.messages[-1]
    assert "late" in late["Subject"]
    body = late.get_content()
    assert f"(containment due {yesterday})" in body and "answer due" not in body
    # The first answer gives the containment: after it is returned, only the answer is awaited and reminded of.
    answer = {"containment": "Sorted.", "whys": ["Why."], "root_cause": "Cause.", "actions": "Action."}
    created(world.dye.post(f"/api/v1/scar-requests/{request_id}/answers", json=answer))
    returned = {"decision": "return", "comment": "More detail.", "answer_due": day(1)}
    created(world.qm.post(f"/api/v1/scar-requests/{request_id}/answers/1/review", json=returned), 200)
    found = db.session.get(ScarRequest, request_id)
    found.containment_reminded_before_at = found.containment_reminded_late_at = None
    db.session.commit()
    assert send_scar_reminders() == 1
    body = inbox.messages[-1].get_content()
    assert "(answer due " in body and "containment due" not in body
    assert send_scar_reminders() == 0


def test_reminders_not_mailed_are_given_back_whichever_pass_they_were_in(smtp_down, world, app):  # noqa: F811
    request_id = created(send(world, containment_due=day(0), answer_due=day(1)))["id"]
    with_english_account(request_id)
    found = db.session.get(ScarRequest, request_id)
    found.containment_due = plant_today() - timedelta(days=2)  # the containment late, the answer due soon
    db.session.commit()
    assert send_scar_reminders() == 0  # nothing reached the supplier
    found = db.session.get(ScarRequest, request_id)
    db.session.refresh(found)
    assert (found.containment_reminded_late_at, found.reminded_before_at) == (None, None)
    app.config["CAPA_SMTP_PORT"] = smtp_down.port  # the server is back: both are mailed, once
    assert send_scar_reminders() == 1 and send_scar_reminders() == 0
    assert sorted(message["Subject"] for message in smtp_down.inbox.messages) == [
        "CAPA: 1 corrective action request is due soon",
        "CAPA: 1 corrective action request is late",
    ]
    # A claim is given back only by the run that made it: another run's later claim stays.
    db.session.refresh(found)
    theirs = found.reminded_before_at
    scars.unclaim([request_id], scars.Reminder(scars.ANSWER, late=False), theirs - timedelta(seconds=1))
    db.session.refresh(found)
    assert found.reminded_before_at == theirs


def test_a_containment_due_with_the_answer_is_named_in_the_answers_reminder(mail_config, world):  # noqa: F811
    request_id = created(send(world, containment_due=day(1), answer_due=day(1)))["id"]
    with_english_account(request_id)
    assert send_scar_reminders() == 1
    [message] = mail_config.inbox.messages
    assert "(containment and answer due " in message.get_content()


def with_english_account(request_id: int) -> None:
    """The supplier's accounts read their mails in English from here on."""
    request = db.session.get(ScarRequest, request_id)
    for account in db.session.scalars(select(User).where(User.supplier_id == request.supplier_id)):
        account.language = "en"
    db.session.commit()


def test_a_request_of_a_cancelled_nc_awaits_nothing_and_a_supplier_owns_no_action(mail_config, world):  # noqa: F811
    request_id = created(send(world, containment_due=day(0), answer_due=day(1)))["id"]
    nc = db.session.scalar(select(NonConformance).where(NonConformance.number == world.number))
    nc.status = "cancelled"
    db.session.commit()
    assert send_scar_reminders() == 0 and mail_config.inbox.messages == []
    answer = {"containment": "Sorted.", "whys": ["Why."], "root_cause": "Cause.", "actions": "Action."}
    refused = created(world.dye.post(f"/api/v1/scar-requests/{request_id}/answers", json=answer), 409)
    assert refused["error"]["fields"] == {"request": "closed"}
    # Nor is a supplier's account ever the owner of one of the factory's actions.
    nc.status = "action"
    db.session.commit()
    body = {"kind": "corrective", "description": "Rewash.", "owner": "dye.chen", "due_date": day(5)}
    refused = created(world.qm.post(f"/api/v1/nonconformances/{world.number}/actions", json=body), 400)
    assert "owner" in refused["error"]["fields"]


# The scorecard -----------------------------------------------------------------------------------------------------


def test_the_scorecard_counts_requests_answered_on_time_and_late(world):
    """One request answered three days ago, due yesterday: on time. One never answered, due two days ago: late."""
    on_time = created(send(world))["id"]
    answer = {"containment": "Sorted.", "whys": ["Why."], "root_cause": "Cause.", "actions": "Action."}
    created(world.dye.post(f"/api/v1/scar-requests/{on_time}/answers", json=answer))
    nc_id = db.session.scalar(select(NonConformance.id).where(NonConformance.number == world.number))
    second = Action(
        nc_id=nc_id, kind="scar", description="Second SCAR.", owner_id=world.qm_user.id, due_date=plant_today()
    )
    db.session.add(second)
    db.session.commit()
    late = created(send(world, action=second.id))["id"]
    answered = db.session.get(ScarRequest, on_time)
    answered.answers[0].submitted_at = answered.answers[0].submitted_at - timedelta(days=3)
    for request_id, due in ((on_time, plant_today() - timedelta(days=1)), (late, plant_today() - timedelta(days=2))):
        found = db.session.get(ScarRequest, request_id)
        found.containment_due = plant_today() - timedelta(days=9)
        found.answer_due = found.first_answer_due = due  # as if sent nine days ago with these days
    db.session.commit()
    # A late answer to the second, returned with a later day: it stays late (judged against the day first due).
    created(world.dye.post(f"/api/v1/scar-requests/{late}/answers", json=answer))
    returned = {"decision": "return", "comment": "More detail.", "answer_due": day(10)}
    created(world.qm.post(f"/api/v1/scar-requests/{late}/answers/1/review", json=returned), 200)
    rolling = created(world.qm.get("/api/v1/suppliers/DYE/scorecard"), 200)["rolling_12_months"]
    # The SCAR actions sent as requests are not counted again through their NC.
    assert rolling["scars"] == {"raised": 2, "due": 2, "on_time": 1, "late": 1}
    assert rolling["deductions"]["scars"] == 7.5
    assert created(world.qm.get("/api/v1/suppliers/SNAP/scorecard"), 200)["rolling_12_months"]["scars"]["raised"] == 0


# Story 2, through the supplier -------------------------------------------------------------------------------------


def test_story_2_the_dye_house_answers_its_scar_and_the_quality_manager_closes_the_action_on_it(floor):  # noqa: F811
    """A bib fails saliva fastness; the root cause is the dye house's fixing agent changed without notice. The SCAR
    action is sent to the dye house, which answers through its own account; the answer returned once is accepted
    in its second round, and the SCAR action is completed on it."""
    sup, qm = floor.sup, floor.qm
    filed = created(
        sup.post(
            "/api/v1/nonconformances",
            json={
                "title": "Bib fails colorfastness to saliva",
                "description": "Saliva fastness grade 3.",
                "defect_type": "colorfastness_failure",
                "source": "lab_test",
                "line": "L2",
                "style": "BIB-410",
                "batch": "B-410-01",
                "parameters": ["CN-CF-SALIVA"],
            },
        )
    )
    number = filed["number"]
    contained = created(
        qm.post(
            f"/api/v1/nonconformances/{number}/containment",
            json={"description": "Dye lot DL-7781 quarantined.", "hold": ["DL-7781"]},
        ),
        200,
    )
    submitted = created(
        sup.post(
            f"/api/v1/nonconformances/{number}/root-cause",
            json={
                "whys": ["The bib bled.", "The dye was not fixed.", "The dye house changed its fixing agent."],
                "category": "material",
                "statement": "Fixing agent changed without notice.",
                "version": contained["version"],
            },
        ),
        200,
    )
    created(
        qm.post(
            f"/api/v1/nonconformances/{number}/review",
            json={"password": PASSWORD, "decision": "approve", "comment": "Agreed.", "version": submitted["version"]},
        ),
        200,
    )
    scar = created(
        qm.post(
            f"/api/v1/nonconformances/{number}/actions",
            json={
                "kind": "scar",
                "description": "SCAR to Sunrise Dye House: notify every change of chemicals.",
                "owner": floor.qm_name,
                "due_date": day(30),
            },
        )
    )
    sent = created(send_for(qm, scar["id"], "DYE-01"))

    # The dye house's account, in Chinese, answers; the first answer is returned, the second accepted.
    dye_user = supplier_account("sunrise.zhou", "DYE-01", language="zh_Hans_CN")
    dye = ApiClient(qm._client, accounts.create_token(dye_user))
    request = f"/api/v1/scar-requests/{sent['id']}"
    # The supplier reads the request by its own number; the factory's NC number stays the factory's.
    assert [(r["nc"], r["title"]) for r in created(dye.get("/api/v1/scar-requests"), 200)["items"]] == [
        (None, "Bib fails colorfastness to saliva")
    ]
    assert [r["nc"] for r in created(qm.get("/api/v1/scar-requests"), 200)["items"]] == [number]
    answer = {
        "containment": "已召回 DL-7781 批次并停止发货。",
        "whys": ["染料未固色。", "更换了固色剂。", "变更未通知客户。"],
        "root_cause": "未经通知更换了固色剂。",
        "actions": "恢复原固色剂；化学品变更须提前通知并提供色牢度报告。",
    }
    created(dye.post(f"{request}/answers", json=answer))
    created(
        qm.post(
            f"{request}/answers/1/review",
            json={"decision": "return", "comment": "Send the saliva fastness report of the old agent."},
        ),
        200,
    )
    # The second round also says what changed: the answer opens a change request for the dye house's material.
    second = created(
        dye.post(
            f"{request}/answers",
            json=answer
            | {
                "actions": answer["actions"] + " 附旧固色剂唾液色牢度报告。",
                "chemical_change": "固色剂 FA-2 改为 FA-7（2026年11月起）",
            },
        )
    )
    created(qm.post(f"{request}/answers/2/review", json={"decision": "accept"}), 200)
    assert created(qm.get(request), 200)["status"] == "accepted"
    opened = created(qm.get("/api/v1/change-requests"), 200)["items"]
    assert [(c["number"], c["subject"], c["supplier"], c["status"]) for c in opened] == [
        (second["change_request"], "chemical", "DYE-01", "proposed")
    ]
    change = created(qm.get(f"/api/v1/change-requests/{opened[0]['id']}"), 200)
    assert change["ncs"] == [number] and change["action"] == scar["id"]
    assert change["impact"]["styles"] == ["BIB-410"]

    # The change is controlled: a saliva lab dip of the new fixing is its condition; the dye lot that comes next is
    # held until the lab dip passes.
    base = f"/api/v1/change-requests/{change['id']}"
    condition = created(qm.post(f"{base}/conditions", json={"kind": "lab_test", "parameter": "CN-CF-SALIVA"}))
    created(qm.post(f"{base}/approval"), 200)
    new_lot = [{"number": "DL-7790", "kind": "dye_lot", "supplier": "DYE-01"}]
    created(qm.post("/api/v1/batches", json={"number": "B-410-02", "style": "BIB-410", "line": "L2", "lots": new_lot}))
    assert created(qm.get("/api/v1/batches/B-410-02"), 200)["held_by_changes"] == [change["number"]]
    lab_dip = created(
        qm.post(
            "/api/v1/batches/B-410-02/results",
            json={
                "parameter": "CN-CF-SALIVA",
                "value": "4-5",
                "lab": "SGS Shanghai",
                "report_number": "LR-7790",
                "tested_at": day(0),
                "lot": "DL-7790",
            },
        )
    )
    effective = created(qm.post(f"{base}/conditions/{condition['id']}/met", json={"result": lab_dip["id"]}), 200)
    assert effective["status"] == "effective"
    assert created(qm.get("/api/v1/batches/B-410-02"), 200)["held_by_changes"] == []

    done = created(
        qm.post(
            f"/api/v1/actions/{scar['id']}/complete",
            json={"evidence": f"{sent['number']} accepted in its second round."},
        ),
        200,
    )
    assert done["status"] == "done"
    nc = created(qm.get(f"/api/v1/nonconformances/{number}"), 200)
    assert [a["status"] for a in nc["actions"] if a["kind"] == "scar"] == ["done"]


def send_for(qm, action_id: int, supplier: str):
    return qm.post(
        "/api/v1/scar-requests",
        json={"action": action_id, "supplier": supplier, "containment_due": day(2), "answer_due": day(14)},
    )


@pytest.mark.skipif(not POSTGRES_URL, reason="row locks need PostgreSQL; SQLite has one writer")
def test_two_reviews_of_one_answer_at_once_are_taken_one_after_the_other(world):
    """A review waits for the request's row while another quality manager's transaction holds it, then reads what
    that transaction left: here the answer was accepted meanwhile, so returning it is refused (not overwritten)."""
    request_id = created(send(world))["id"]
    answer = {"containment": "Sorted.", "whys": ["Why."], "root_cause": "Cause.", "actions": "Action."}
    created(world.dye.post(f"/api/v1/scar-requests/{request_id}/answers", json=answer))
    engine = create_engine(db.engine.url.render_as_string(hide_password=False))
    answers = []
    with engine.connect() as other:
        other.execute(text("SELECT id FROM scar_requests WHERE id = :id FOR UPDATE"), {"id": request_id})
        # The other quality manager's acceptance, stored by the transaction that holds the request.
        other.execute(
            text("UPDATE scar_answers SET decision = 'accept', reviewed_at = now() WHERE request_id = :id"),
            {"id": request_id},
        )
        other.execute(
            text("UPDATE scar_requests SET status = 'accepted', accepted_at = now() WHERE id = :id"), {"id": request_id}
        )
        returning = threading.Thread(
            target=lambda: answers.append(
                world.qm.post(
                    f"/api/v1/scar-requests/{request_id}/answers/1/review",
                    json={"decision": "return", "comment": "More detail."},
                )
            )
        )
        returning.start()
        assert wait_for_a_lock_waiter(other) == 1
        other.commit()
    returning.join()
    engine.dispose()
    [refused] = answers
    assert refused.status_code == 409 and refused.json["error"]["fields"] == {"round": "reviewed"}
    final = created(world.qm.get(f"/api/v1/scar-requests/{request_id}"), 200)
    assert (final["status"], final["answers"][0]["decision"]) == ("accepted", "accept")
