"""Every free-text field stays text wherever it is shown: escaped on every page, in every mail and in the 8D
report, and kept verbatim in the CSV and XLSX exports, where a cell a spreadsheet would run as a formula is
neutralised.

One plant is built once for the module, through the API and the pages as its people would: each free-text field
the app takes holds markup of its own, ``<script>t1</script><b>t1</b>"'&`` (``t1`` naming the field), from an NC's
title to a laboratory's accreditation number. Then every place that shows records is read once, as its readers
read it: the NC pages, the lists, each role's home page, the style, supplier, batch, parameter, lab report and
defect type pages, the edit forms, the 8D report, the weekly summary with its charts and its mail (to a reader
in English and one in Chinese), the reminder mails of overdue actions and due effectiveness reviews, and the NC
list's and the summary's downloads. Each field's test (one per field, so that a failure names it) checks that
its markup is live nowhere, and shows, as the text that was typed, where the field belongs.

Mail goes to a real SMTP server (aiosmtpd); pages are read with a real HTML parser, downloads with ``csv`` and
openpyxl.
"""

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from types import SimpleNamespace
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
from aiosmtpd.controller import Controller
from openpyxl import load_workbook
from sqlalchemy import update

from capa.accounts import service as accounts
from capa.capas.models import NonConformance
from capa.common.clock import plant_today
from capa.extensions import db
from capa.trends import mail
from capa.trends import service as summaries
from capa.trends.scheduler import send_reminders, send_review_reminders
from capa.trends.weeks import Week
from tests.conftest import PASSWORD, ApiClient, new_user
from tests.images import jpeg
from tests.pages import logged_in, parsed
from tests.test_trends_running import Inbox, free_port

# The fields and their markup ---------------------------------------------------------------------------------

#: Each free-text field, by what it is, with the mark its markup carries (two characters, so that the markup fits
#: the shortest fields: 31 characters).
MARKS = {
    # Non-conformances and their CAPAs
    "nc.title": "t1",
    "nc.description": "t2",
    "nc.edit_reason": "t3",
    "containment.description": "c1",
    "hold.release_reason": "c2",
    "disposition.reason": "c3",
    "disposition.evidence": "c4",
    "disposition.concession_buyer": "c5",
    "disposition.concession_reference": "c6",
    "reinspection.note": "c7",
    "root_cause.why": "r1",
    "root_cause.fishbone_cause": "r2",
    "root_cause.statement": "r3",
    "review.comment": "r4",
    "action.description": "a1",
    "action.evidence": "a2",
    "action.document": "a3",
    "action.revision": "a4",
    "action.trained": "a5",
    "retest.lab": "a6",
    "retest.report_number": "a7",
    "close.effectiveness": "e1",
    "cancel.reason": "e2",
    "effectiveness_review.note": "e3",
    "evidence.file_name": "e4",
    "photo.file_name": "e5",
    "list.search": "e6",
    "defect_type.name": "d1",
    "defect_type.name_zh": "d2",
    # Master data
    "line.name": "m1",
    "supplier.name": "m2",
    "supplier.approval_reason": "m3",
    "style.name": "m4",
    "style.fibre_content": "m5",
    "style.change_reason": "m6",
    "batch.colourway": "m7",
    # The safety catalog, lab results and quality plans
    "parameter.name": "p1",
    "parameter.name_zh": "p2",
    "parameter.standard": "p3",
    "parameter.clause": "p4",
    "parameter.test_method": "p5",
    "parameter.reason": "p6",
    "parameter.unit": "p7",
    "limit.reason": "p8",
    "plan.reason": "p9",
    "result.lab": "l1",
    "result.report_number": "l2",
    "result.na_reason": "l3",
    "laboratory.name": "l4",
    "laboratory.cnas_number": "l5",
    "laboratory.cma_number": "l6",
    "laboratory.iso17025": "l7",
    "lab_report.number": "l8",
    "lab_report.sample_description": "l9",
    # Accounts
    "user.email": "u1",
    "user.full_name": "u2",
    # Refused where they are typed (codes, names of accounts, values a judge reads): the error that quotes them
    "line.code": "x1",
    "user.username": "x2",
    "limit.value": "x3",
    "result.value": "x4",
}


def hostile(mark: str) -> str:
    """Markup that runs a script and makes an element if it is not escaped, with both quotes and an ampersand."""
    return f"<script>{mark}</script><b>{mark}</b>\"'&"


H = {name: hostile(mark) for name, mark in MARKS.items()}
#: What a field is written as, where it is not its markup alone: an address must be one (``…@e.x``), and a file
#: name is only its last part (after the last slash), so the markup of file names makes its elements unclosed.
WRITTEN = {
    "user.email": H["user.email"] + "@e.x",
    "photo.file_name": "<b>e5'&<script>e5.jpg",
    "evidence.file_name": "<b>e4'&<script>e4.pdf",
}
#: What is sent, for each field.
SENT = {name: WRITTEN.get(name, H[name]) for name in MARKS}

#: A name with dollar signs, which a chart library would set as a formula ("mathtext"), and fail on.
DOLLARS = r"Snaps lost: $x^$, $\foo{$"
#: Text a spreadsheet would run as a formula, each written into every free field that a download carries.
FORMULAS = ['=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "@SUM(A1)", "-2+3+cmd|' /C calc'!A0"]
#: A formula behind a control character (a paste can bring one), which XLSX cannot hold: left out, what follows
#: must still be text. Typed into an NC's title and an action's description.
BEHIND_CONTROL = '\x1b=HYPERLINK("http://x/esc")'
#: Characters XML 1.0 cannot carry (nor XLSX): the downloads leave them out.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def as_text(formula: str) -> str:
    """How a download writes ``formula``: without control characters, after an apostrophe that makes it text."""
    return "'" + CONTROL.sub("", formula)


# The plant ----------------------------------------------------------------------------------------------------


def answered(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@dataclass
class Plant:
    """The people of the plant, each with a browser (logged in) and an API client, and what was built."""

    app: object
    people: SimpleNamespace = field(default_factory=SimpleNamespace)
    pages: SimpleNamespace = field(default_factory=SimpleNamespace)
    api: SimpleNamespace = field(default_factory=SimpleNamespace)
    ncs: SimpleNamespace = field(default_factory=SimpleNamespace)
    inbox: Inbox | None = None
    week: str = ""
    lab_report: int = 0

    def nc(self, title: str = H["nc.title"], defect_type: str = "x_snap", **extra) -> str:
        """An NC filed by the supervisor on the romper's batch; its number."""
        body = {
            "title": title,
            "description": H["nc.description"],
            "defect_type": defect_type,
            "source": "inline",
            "line": "L-X",
            **extra,
        }
        if "category" not in extra:
            body |= {"style": "ST-X", "batch": "B-X"}
        return answered(self.api.sup.post("/api/v1/nonconformances", json=body), 201)["number"]

    def step(self, client, number: str, step: str, body: dict, status: int = 200) -> dict:
        return answered(client.post(f"/api/v1/nonconformances/{number}/{step}", json=body), status)

    def contain(self, number: str, **hold) -> dict:
        return self.step(self.api.qm, number, "containment", {"description": H["containment.description"], **hold})

    def root_cause(self, number: str) -> None:
        body = {
            "whys": [H["root_cause.why"], "The stitch density was set low."],
            "fishbone": {"machine": [H["root_cause.fishbone_cause"]], "method": ["No set-up check"]},
            "category": "machine",
            "statement": H["root_cause.statement"],
        }
        self.step(self.api.sup, number, "root-cause", body)

    def review(self, number: str, decision: str = "approve", comment: str | None = None) -> None:
        body = {"decision": decision, "password": PASSWORD} | ({"comment": comment} if comment else {})
        self.step(self.api.qm, number, "review", body)

    def action(self, number: str, kind: str, owner: str, due_in_days: int, description=H["action.description"]):
        due = (plant_today() + timedelta(days=due_in_days)).isoformat()
        body = {"kind": kind, "description": description, "owner": owner, "due_date": due}
        return self.step(self.api.qm, number, "actions", body, 201)["id"]

    def complete(self, client, action: int, **fields) -> None:
        body = {"evidence": H["action.evidence"], **fields}
        answered(client.post(f"/api/v1/actions/{action}/complete", json=body))

    def retest(self, number: str) -> int:
        body = {
            "parameter": "X-PULL",
            "value": "92",
            "lab": H["retest.lab"],
            "report_number": H["retest.report_number"],
        }
        return self.step(self.api.qm, number, "tests", body, 201)["id"]

    def to_verification(self, number: str, *, files: bool = False) -> None:
        """Contained, its root cause approved, its two actions done (a standard revised, operators retrained)."""
        self.root_cause(number)
        self.review(number)
        revision = self.action(number, "standard_revision", self.people.qm.username, 7)
        training = self.action(number, "training", self.people.sup.username, 7)
        if files:
            uploaded = self.api.qm.post(
                f"/api/v1/nonconformances/{number}/attachments",
                data={
                    "purpose": "action",
                    "action": str(revision),
                    "file": [(io.BytesIO(pdf()), SENT["evidence.file_name"])],
                },
            )
            answered(uploaded, 201)
        self.complete(self.api.qm, revision, document=H["action.document"], revision=H["action.revision"])
        self.complete(self.api.sup, training, trained=H["action.trained"])

    def close(self, number: str) -> None:
        self.step(self.api.qm, number, "close", {"effectiveness": H["close.effectiveness"], "password": PASSWORD})


def build_people(plant: Plant, client) -> None:
    people = plant.people
    people.admin = new_user("admin", "admin.esc")
    people.qm = new_user("quality_manager", "qm.li")
    people.qm_zh = new_user("quality_manager", "qm.zhou")
    people.sup = new_user("supervisor", "sup.wang")
    people.other = new_user("supervisor", "sup.zhao")
    accounts.set_language(people.qm_zh, "zh_Hans_CN")
    plant.pages.admin = logged_in(plant.app, people.admin)
    # The administrator writes the addresses and the name shown with the quality manager's signatures.
    for user, email, full_name in (
        (people.qm, "qm.li@plant.example", SENT["user.full_name"]),
        (people.qm_zh, "qm.zhou@plant.example", ""),
        (people.sup, "sup.wang@plant.example", ""),
        (people.other, SENT["user.email"], ""),
    ):
        form = {"role": user.role, "active": "y", "email": email, "full_name": full_name}
        response = plant.pages.admin.post(f"/users/{user.username}", data=form)
        assert response.status_code == 302, response.text
    for name in ("qm", "qm_zh", "sup", "other"):
        setattr(plant.pages, name, logged_in(plant.app, getattr(people, name)))
        setattr(plant.api, name, ApiClient(client, accounts.create_token(getattr(people, name))))


def build_master_data(plant: Plant) -> None:
    qm = plant.api.qm
    answered(qm.post("/api/v1/lines", json={"code": "L-X", "name": H["line.name"]}), 201)
    answered(qm.post("/api/v1/suppliers", json={"code": "S-X", "name": H["supplier.name"]}), 201)
    answered(qm.post("/api/v1/suppliers", json={"code": "S-Y", "name": "Trim Co"}), 201)
    answered(
        qm.patch("/api/v1/suppliers/S-Y", json={"approval": "conditional", "reason": H["supplier.approval_reason"]})
    )
    style = {
        "code": "ST-X",
        "name": H["style.name"],
        "category": "A",
        "cmia_required": True,
        "fibre_content": H["style.fibre_content"],
    }
    answered(qm.post("/api/v1/styles", json=style), 201)
    answered(qm.patch("/api/v1/styles/ST-X", json={"dark_shade": True, "reason": H["style.change_reason"]}))
    batch = {
        "number": "B-X",
        "style": "ST-X",
        "line": "L-X",
        "lots": [{"number": "LOT-X", "kind": "fabric", "supplier": "S-X"}],
        "colourways": [H["batch.colourway"]],
    }
    answered(qm.post("/api/v1/batches", json=batch), 201)
    trims = {"lots": [{"number": "LOT-Y", "kind": "trim", "supplier": "S-Y", "concession": "Buyer concession C-1"}]}
    answered(qm.post("/api/v1/batches", json={**batch, "number": "B-Y", **trims}), 201)


def build_catalog(plant: Plant) -> None:
    qm = plant.api.qm
    parameter = {
        "code": "X-PULL",
        "name": H["parameter.name"],
        "name_zh": H["parameter.name_zh"],
        "kind": "physical",
        "unit": H["parameter.unit"],
        "standard": H["parameter.standard"],
        "clause": H["parameter.clause"],
        "test_method": H["parameter.test_method"],
        "limits": [{"category": category, "comparator": "min", "limit": "70"} for category in "ABC"],
        "reason": H["parameter.reason"],
    }
    answered(qm.post("/api/v1/parameters", json=parameter), 201)
    change = {"comparator": "min", "limit": "60", "reason": H["limit.reason"]}
    answered(qm.put("/api/v1/parameters/X-PULL/limits/C", json=change))
    plan = answered(qm.get("/api/v1/styles/ST-X/plan"))
    optional = next(p["code"] for p in plan["parameters"] if not p["mandatory"] and not p["added"])
    answered(
        qm.post("/api/v1/styles/ST-X/plan", json={"parameter": optional, "included": False, "reason": H["plan.reason"]})
    )
    # The defect types, by the quality manager on the catalog's page.
    named = (
        ("x_snap", H["defect_type.name"]),
        ("x_dollars", DOLLARS),
        *((f"x_f{i}", f) for i, f in enumerate(FORMULAS)),
    )
    for code, name in named:
        name_zh = H["defect_type.name_zh"] if code == "x_snap" else name
        form = {"code": code, "name": name, "name_zh": name_zh, "active": "yes", "effectiveness_days": "90"}
        response = plant.pages.qm.post("/defect-types/new", data={**form, "parameters": ["X-PULL"]})
        assert response.status_code == 302, response.text


def build_lab_results(plant: Plant) -> None:
    qm = plant.api.qm
    today = plant_today().isoformat()
    report = {
        "laboratory": {
            "name": H["laboratory.name"],
            "cnas_number": H["laboratory.cnas_number"],
            "cma_number": H["laboratory.cma_number"],
            "iso17025": H["laboratory.iso17025"],
        },
        "number": H["lab_report.number"],
        "component": "whole_garment",
        "batch": "B-X",
        "colourway": H["batch.colourway"],
        "sample_description": H["lab_report.sample_description"],
        "test_date": today,
        "report_date": today,
        "results": [{"parameter": "CN-FORM", "value": "ND"}],
    }
    plant.lab_report = answered(qm.post("/api/v1/lab-reports", json=report), 201)["id"]
    result = {
        "parameter": "X-PULL",
        "value": "92",
        "lab": H["result.lab"],
        "report_number": H["result.report_number"],
        "tested_at": today,
    }
    answered(qm.post("/api/v1/batches/B-X/results", json=result), 201)
    # "Not applicable" is written only where the parameter does not apply to the romper: one of another market.
    for parameter in answered(qm.get("/api/v1/parameters"))["items"]:
        if parameter["market"] == "CN":
            continue
        not_applicable = {
            "parameter": parameter["code"],
            "value": "N/A",
            "na_reason": H["result.na_reason"],
            "lab": "SGS",
            "report_number": "SGS-NA-1",
            "tested_at": today,
        }
        if qm.post("/api/v1/batches/B-X/results", json=not_applicable).status_code == 201:
            break
    else:
        pytest.fail("no parameter could be recorded as not applicable")


def build_capas(plant: Plant) -> None:
    people, ncs, qm = plant.people, plant.ncs, plant.api.qm
    # A: every step of the 8D, its held goods disposed of every way, closed; its effectiveness review now due.
    ncs.closed = plant.nc()
    [hold] = plant.contain(ncs.closed, hold=["B-X"], quantities={"B-X": 100})["containment"]["holds"]
    photo = plant.pages.sup.post(
        f"/nc/{ncs.closed}/photos", data={"photos": [(io.BytesIO(jpeg()), SENT["photo.file_name"])]}
    )
    assert photo.status_code == 302, photo.text
    plant.to_verification(ncs.closed, files=True)
    plant.retest(ncs.closed)
    dispose = f"/api/v1/nonconformances/{ncs.closed}/holds/{hold['id']}/dispositions"
    signed = {"password": PASSWORD, "reason": H["disposition.reason"]}
    answered(qm.post(dispose, json={**signed, "kind": "scrap", "quantity": 10}), 201)
    reworked = answered(qm.post(dispose, json={**signed, "kind": "rework", "quantity": 20}), 201)
    [rework] = [d for h in reworked["containment"]["holds"] for d in h["dispositions"] if d["kind"] == "rework"]
    inspected = {"passed": True, "note": H["reinspection.note"]}
    answered(qm.post(f"/api/v1/dispositions/{rework['id']}/reinspection", json=inspected))
    concession = {
        **signed,
        "kind": "use_as_is",
        "quantity": 30,
        "concession_buyer": H["disposition.concession_buyer"],
        "concession_reference": H["disposition.concession_reference"],
    }
    answered(qm.post(dispose, json=concession), 201)
    answered(qm.post(dispose, json={**signed, "kind": "release", "evidence": H["disposition.evidence"]}), 201)
    plant.close(ncs.closed)
    # Its review's day has come, as the passing of time would bring it.
    db.session.execute(
        update(NonConformance)
        .where(NonConformance.number == ncs.closed)
        .values(effectiveness_due=plant_today() - timedelta(days=1))
    )
    db.session.commit()

    # A2: closed, and found not effective: a follow-up CAPA is filed.
    ncs.reviewed = plant.nc()
    plant.contain(ncs.reviewed)
    plant.to_verification(ncs.reviewed)
    plant.retest(ncs.reviewed)
    plant.close(ncs.reviewed)
    review = {
        "verdict": "not_effective",
        "recurred": True,
        "note": H["effectiveness_review.note"],
        "password": PASSWORD,
    }
    reviewed = plant.step(qm, ncs.reviewed, "effectiveness-review", review)
    [ncs.follow_up] = reviewed["effectiveness_review"]["follow_ups"]

    # B: open, its root cause returned once with a question, its parameters corrected, its action overdue.
    ncs.open = plant.nc()
    [lot_hold] = plant.contain(ncs.open, hold=["LOT-X"])["containment"]["holds"]
    release = {"reason": H["hold.release_reason"], "password": PASSWORD}
    answered(qm.post(f"/api/v1/nonconformances/{ncs.open}/holds/{lot_hold['id']}/release", json=release))
    plant.root_cause(ncs.open)
    plant.review(ncs.open, "return", H["review.comment"])
    correction = {"parameters": ["X-PULL", "CN-FORM"], "reason": H["nc.edit_reason"]}
    answered(qm.patch(f"/api/v1/nonconformances/{ncs.open}", json=correction))
    plant.root_cause(ncs.open)
    plant.review(ncs.open)
    plant.action(ncs.open, "corrective", people.sup.username, -1)

    # C: cancelled. R: its root cause waits for review.
    ncs.cancelled = plant.nc()
    plant.step(qm, ncs.cancelled, "cancel", {"reason": H["cancel.reason"]})
    ncs.in_review = plant.nc()
    plant.contain(ncs.in_review)
    plant.root_cause(ncs.in_review)

    # One of the defect type named with dollar signs, which the week's Pareto chart shows.
    plant.nc(title="Snaps lost", defect_type="x_dollars", category="B")

    # One NC per formula, of a defect type named by it, with an overdue action it describes.
    for defect_type, formula in [*((f"x_f{i}", f) for i, f in enumerate(FORMULAS)), ("x_snap", BEHIND_CONTROL)]:
        number = plant.nc(title=formula, defect_type=defect_type, category="B")
        plant.contain(number)
        plant.root_cause(number)
        plant.review(number)
        plant.action(number, "corrective", people.sup.username, -2, description=formula)


def refused_forms(plant: Plant) -> dict[str, str]:
    """Forms sent with markup where it is refused, or with a field missing: the pages shown again, which quote
    what was typed beside its error."""
    pages, today = plant.pages, plant_today().isoformat()
    sent = {
        "refused:filing": (
            pages.sup,
            "/nc/new",
            {"title": SENT["nc.title"], "defect_type": "x_snap", "source": "inline", "line": ""},
        ),
        "refused:line": (pages.qm, "/lines/new", {"code": SENT["line.code"], "name": "Line 9"}),
        "refused:user": (
            pages.admin,
            "/users/new",
            {"username": SENT["user.username"], "role": "supervisor", "password": PASSWORD},
        ),
        "refused:parameter": (
            pages.qm,
            "/parameters/new",
            {
                "code": "X-BAD",
                "name": "Pull force",
                "kind": "physical",
                "unit": "N",
                "standard": "Buyer",
                "comparator": "min",
                "limit_a": SENT["limit.value"],
                "reason": "New",
            },
        ),
        "refused:result": (
            pages.qm,
            "/batches/B-X/results/new",
            {
                "parameter": "X-PULL",
                "value": SENT["result.value"],
                "lab": "SGS",
                "report_number": "R-9",
                "tested_at": today,
            },
        ),
    }
    shown = {}
    for name, (client, address, form) in sent.items():
        response = client.post(address, data=form)
        assert response.status_code == 400, (name, response.status_code)
        shown[name] = response.text
    # A laboratory's export, previewed before it is imported: its rows, and the error of a value it cannot read.
    columns = ["laboratory", "cnas_number", "report_number", "sample_description", "colourway", "component"]
    columns += ["batch", "test_date", "report_date", "parameter", "value"]
    sample = [SENT["laboratory.name"], "L0599", "IMP-1", SENT["lab_report.sample_description"], SENT["batch.colourway"]]
    sample += ["whole_garment", "B-X", today, today]
    export = io.StringIO()
    csv.writer(export).writerows([columns, [*sample, "CN-PH", SENT["result.value"]], [*sample, "CN-FORM", "ND"]])
    upload = {"file": (io.BytesIO(export.getvalue().encode()), "export.csv")}
    response = pages.qm.post("/lab-reports/import", data=upload)
    assert response.status_code in (200, 400), response.status_code
    shown["import:preview"] = response.text
    return shown


def build_mail(plant: Plant) -> None:
    """The week's summary built and mailed (to a reader in English and one in Chinese), and the day's reminders."""
    week = Week.containing(plant_today())
    summary, _built = summaries.build(week, force=True)
    plant.week = str(week)
    assert mail.send(summary) == "sent"
    assert send_reminders() >= 1
    assert send_review_reminders() == 1


# What the plant's people read ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """Something shown to a reader: a page, a chart, a mail or a download, and its content as read."""

    kind: str  # html, svg, text-mail, csv, xlsx
    content: object


def page_places(plant: Plant) -> dict[str, tuple[object, str]]:
    """Where each page is read from, and by whom."""
    pages, ncs, week = plant.pages, plant.ncs, plant.week
    places = {
        f"nc:{name}": (pages.qm, f"/nc/{getattr(ncs, name)}")
        for name in ("closed", "reviewed", "follow_up", "open", "cancelled", "in_review")
    }
    places |= {
        "nc:open:supervisor": (pages.sup, f"/nc/{ncs.open}"),
        "nc:in_review:supervisor": (pages.sup, f"/nc/{ncs.in_review}"),
        "nc:closed:zh": (pages.qm_zh, f"/nc/{ncs.closed}"),
        "nc:open:zh": (pages.qm_zh, f"/nc/{ncs.open}"),
        "list": (pages.qm, "/nc?per_page=100"),
        "list:zh": (pages.qm_zh, "/nc?per_page=100"),
        "list:search": (pages.qm, "/nc?" + urlencode({"q": SENT["list.search"]})),
        "home:quality_manager": (pages.qm, "/"),
        "home:quality_manager:zh": (pages.qm_zh, "/"),
        "home:supervisor": (pages.sup, "/"),
        "lines": (pages.qm, "/lines"),
        "line": (pages.qm, "/lines/L-X"),
        "line:edit": (pages.qm, "/lines/L-X/edit"),
        "suppliers": (pages.qm, "/suppliers"),
        "supplier": (pages.qm, "/suppliers/S-X"),
        "supplier:approval": (pages.qm, "/suppliers/S-Y"),
        "supplier:edit": (pages.qm, "/suppliers/S-X/edit"),
        "styles": (pages.qm, "/styles"),
        "style": (pages.qm, "/styles/ST-X"),
        "style:edit": (pages.qm, "/styles/ST-X/edit"),
        "plan": (pages.qm, "/styles/ST-X/plan"),
        "batches": (pages.qm, "/batches"),
        "batch": (pages.qm, "/batches/B-X"),
        "catalog": (pages.qm, "/parameters"),
        "catalog:zh": (pages.qm_zh, "/parameters"),
        "parameter": (pages.qm, "/parameters/X-PULL"),
        "parameter:zh": (pages.qm_zh, "/parameters/X-PULL"),
        "lab_report": (pages.qm, f"/lab-reports/{plant.lab_report}"),
        "defect_types": (pages.qm, "/defect-types"),
        "defect_types:zh": (pages.qm_zh, "/defect-types"),
        "defect_type:edit": (pages.qm, "/defect-types/x_snap"),
        "users": (pages.admin, "/users"),
        "user:supervisor": (pages.admin, "/users/sup.zhao"),
        "user:quality_manager": (pages.admin, "/users/qm.li"),
        "report:closed": (pages.qm, f"/nc/{ncs.closed}/report"),
        "report:closed:zh": (pages.qm_zh, f"/nc/{ncs.closed}/report"),
        "report:reviewed": (pages.qm, f"/nc/{ncs.reviewed}/report"),
        "report:open": (pages.qm, f"/nc/{ncs.open}/report"),
        "summaries": (pages.qm, "/summaries"),
        "summary": (pages.qm, f"/summaries/{week}"),
        "summary:zh": (pages.qm_zh, f"/summaries/{week}"),
    }
    return places


def download_places(plant: Plant) -> dict[str, tuple[object, str]]:
    pages, week = plant.pages, plant.week
    places = {}
    for reader, client in (("", pages.qm), (":zh", pages.qm_zh)):
        for chart in ("pareto", "parameters"):
            places[f"chart:{chart}{reader}"] = (client, f"/summaries/{week}/charts/{chart}.svg")
        for kind in ("csv", "xlsx"):
            places[f"list.{kind}{reader}"] = (client, f"/nc?per_page=100&format={kind}")
            places[f"summary.{kind}{reader}"] = (client, f"/summaries/{week}.{kind}")
    return places


def read_places(plant: Plant) -> dict[str, Place]:
    places = {}
    for name, (client, address) in page_places(plant).items():
        response = client.get(address)
        assert response.status_code == 200, (name, response.status_code)
        assert response.mimetype == "text/html", name
        places[name] = Place("html", response.text)
    for name, (client, address) in download_places(plant).items():
        response = client.get(address)
        assert response.status_code == 200, (name, response.status_code)
        data = response.get_data()
        response.close()
        if name.startswith("chart:"):
            assert response.mimetype == "image/svg+xml"
            places[name] = Place("svg", data.decode())
        elif ".csv" in name:
            assert response.mimetype == "text/csv"
            places[name] = Place("csv", [list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))])
        else:
            places[name] = Place("xlsx", workbook_cells(data))
    for name, message in mails(plant.inbox).items():
        html = next((part for part in message.walk() if part.get_content_type() == "text/html"), None)
        if html is not None:
            places[name] = Place("html", html.get_content())
        else:
            assert message.get_content_type() == "text/plain", name  # a mail of plain text: no markup at all
            places[name] = Place("text-mail", message.get_content())
    return places


def workbook_cells(data: bytes) -> list[list[list[tuple[object, str]]]]:
    """Each sheet's rows, each cell as openpyxl reads it back: (value, data type)."""
    book = load_workbook(io.BytesIO(data))
    return [[[(cell.value, cell.data_type) for cell in row] for row in sheet.iter_rows()] for sheet in book.worksheets]


def mails(inbox: Inbox) -> dict[str, EmailMessage]:
    """The mails sent, by what they are and to whom."""
    found = {}
    for _sender, recipients, message in inbox.received:
        subject = str(message["Subject"])
        to = recipients[0].split("@")[0]
        if "summary" in subject or "周" in subject:
            found[f"mail:summary:{'zh' if to == 'qm.zhou' else 'en'}"] = message
        elif to == "sup.wang":
            found["mail:overdue"] = message
        else:
            found[f"mail:review:{'zh' if to == 'qm.zhou' else 'en'}"] = message
    return found


SMTP_SETTINGS = {"CAPA_SMTP_HOST": "127.0.0.1", "CAPA_MAIL_FROM": "capa@plant.example"}


@pytest.fixture(scope="module")
def world(module_app):
    """The plant built once, and every place read once: name → Place."""
    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=free_port())
    server.start()
    module_app.config.update(
        SMTP_SETTINGS,
        CAPA_SMTP_PORT=server.port,
        CAPA_SUMMARY_RECIPIENTS="qa@plant.example, qm.zhou@plant.example",
        CAPA_BASE_URL="https://capa.plant.example",
    )
    try:
        with module_app.app_context():
            plant = Plant(module_app, inbox=inbox)
            build_people(plant, module_app.test_client())
            build_master_data(plant)
            build_catalog(plant)
            build_lab_results(plant)
            build_capas(plant)
            refused = refused_forms(plant)
            build_mail(plant)
            yield read_places(plant) | {name: Place("html", html) for name, html in refused.items()}
    finally:
        server.stop()


# Reading markup -------------------------------------------------------------------------------------------------


def live_in_html(html: str, mark: str) -> list[str]:
    """How the markup marked ``mark`` is live in ``html``: an element of its own (its text starts with the mark),
    or written raw, where a parser would not make it an element (in an attribute, a title, a textarea, a script)
    but the page did not escape it either."""
    found = [f"<{node.tag}> element" for node in parsed(html).css("script, b") if node.text().startswith(mark)]
    found += [f"raw {raw!r}" for raw in (f"<b>{mark}", f"<script>{mark}") if raw in html]
    return found


def shown_in_html(html: str, text: str) -> bool:
    """Whether ``text`` reads in the page: in its text, or in an attribute (a form's value, an image's alt)."""
    root = parsed(html)
    if text in root.text(separator=""):
        return True
    return any(text in (value or "") for node in root.traverse() for value in node.attributes.values())


def svg_tree(svg: str) -> ElementTree.Element:
    # The app's own chart, read back in the test: an entity declaration in it would fail the checks anyway.
    return ElementTree.fromstring(svg)  # noqa: S314


def live_in_svg(svg: str, mark: str) -> list[str]:
    """The elements of a chart that the markup marked ``mark`` made: a script, or HTML inside the SVG."""
    return [
        element.tag
        for element in svg_tree(svg).iter()
        if element.tag.rsplit("}", 1)[-1] in ("script", "b", "foreignObject")
        and mark in ElementTree.tostring(element, "unicode")
    ]


def shown_in_svg(svg: str, text: str) -> bool:
    """Whether ``text`` reads in one of the chart's texts (its labels)."""
    return any(text in "".join(element.itertext()) for element in svg_tree(svg).iter() if element.tag.endswith("}text"))


def cells_of(place: Place) -> list[str]:
    """Every text cell of a download, as a spreadsheet reads it."""
    if place.kind == "csv":
        return [cell for sheet in place.content for row in sheet for cell in row]
    return [value for sheet in place.content for row in sheet for value, _kind in row if isinstance(value, str)]


def where_shown(world: dict[str, Place], text: str) -> set[str]:
    """The places where ``text`` reads as it was written."""
    found = set()
    for name, place in world.items():
        if place.kind == "html":
            shown = shown_in_html(place.content, text)
        elif place.kind == "svg":
            shown = shown_in_svg(place.content, text)
        elif place.kind == "text-mail":
            shown = text in place.content
        else:
            shown = any(text in cell for cell in cells_of(place))
        if shown:
            found.add(name)
    return found


def where_live(world: dict[str, Place], mark: str) -> dict[str, list[str]]:
    found = {}
    for name, place in world.items():
        if place.kind == "html":
            live = live_in_html(place.content, mark)
        elif place.kind == "svg":
            live = live_in_svg(place.content, mark)
        else:
            continue
        if live:
            found[name] = live
    return found


# Each field, escaped wherever it is shown -------------------------------------------------------------------

NC_PAGES = {"nc:closed", "nc:closed:zh", "nc:reviewed", "nc:open", "nc:open:supervisor", "nc:open:zh"}
OPEN_NC_PAGES = {"nc:open", "nc:open:supervisor", "nc:open:zh"}
CLOSED_NC_PAGES = {"nc:closed", "nc:closed:zh"}
EVERY_NC_PAGE = NC_PAGES | {"nc:in_review", "nc:in_review:supervisor", "nc:cancelled", "nc:follow_up"}
REPORTS = {"report:closed", "report:closed:zh", "report:reviewed", "report:open"}
CLOSED_REPORTS = {"report:closed", "report:closed:zh"}
HOMES = {"home:quality_manager", "home:quality_manager:zh", "home:supervisor"}
SUMMARY = {"summary", "summary:zh", "mail:summary:en", "mail:summary:zh"}

#: Where each field must read as it was typed (it may read elsewhere too; it is live markup nowhere).
EXPECTED = {
    "nc.title": EVERY_NC_PAGE
    | REPORTS
    | HOMES
    | SUMMARY
    | {"list", "list:zh", "supplier", "parameter", "parameter:zh", "refused:filing"}
    | {"mail:review:en", "mail:review:zh", "list.csv", "list.xlsx", "list.csv:zh", "list.xlsx:zh"},
    "nc.description": NC_PAGES | {"nc:in_review", "nc:cancelled"} | REPORTS,
    "nc.edit_reason": OPEN_NC_PAGES,
    "containment.description": NC_PAGES | {"nc:in_review"} | REPORTS,
    "hold.release_reason": OPEN_NC_PAGES | {"report:open"},
    "disposition.reason": CLOSED_NC_PAGES | CLOSED_REPORTS,
    "disposition.evidence": CLOSED_NC_PAGES | CLOSED_REPORTS,
    "disposition.concession_buyer": CLOSED_NC_PAGES | CLOSED_REPORTS,
    "disposition.concession_reference": CLOSED_NC_PAGES | CLOSED_REPORTS,
    "reinspection.note": CLOSED_NC_PAGES | CLOSED_REPORTS,
    "root_cause.why": NC_PAGES | {"nc:in_review", "nc:in_review:supervisor"} | REPORTS,
    "root_cause.fishbone_cause": NC_PAGES | {"nc:in_review", "nc:in_review:supervisor"} | REPORTS,
    "root_cause.statement": NC_PAGES | {"nc:in_review", "nc:in_review:supervisor"} | REPORTS,
    "review.comment": OPEN_NC_PAGES | {"report:open"},
    "action.description": NC_PAGES | REPORTS | HOMES | SUMMARY | {"mail:overdue", "summary.xlsx", "summary.xlsx:zh"},
    "action.evidence": CLOSED_NC_PAGES | {"nc:reviewed"} | CLOSED_REPORTS | {"report:reviewed"},
    "action.document": CLOSED_NC_PAGES | {"nc:reviewed"} | CLOSED_REPORTS | {"report:reviewed"},
    "action.revision": CLOSED_NC_PAGES | {"nc:reviewed"} | CLOSED_REPORTS | {"report:reviewed"},
    "action.trained": CLOSED_NC_PAGES | {"nc:reviewed"} | CLOSED_REPORTS | {"report:reviewed"},
    "retest.lab": CLOSED_NC_PAGES | {"nc:reviewed", "batch"} | CLOSED_REPORTS | {"report:reviewed"},
    "retest.report_number": CLOSED_NC_PAGES | {"nc:reviewed", "batch"} | CLOSED_REPORTS | {"report:reviewed"},
    "close.effectiveness": CLOSED_NC_PAGES | {"nc:reviewed"} | CLOSED_REPORTS | {"report:reviewed"},
    "cancel.reason": {"nc:cancelled"},
    "effectiveness_review.note": {"nc:reviewed", "nc:follow_up", "report:reviewed"},
    "evidence.file_name": CLOSED_NC_PAGES | CLOSED_REPORTS,
    "photo.file_name": CLOSED_NC_PAGES | CLOSED_REPORTS,
    "list.search": {"list:search"},
    "defect_type.name": (EVERY_NC_PAGE - {"nc:closed:zh", "nc:open:zh"})
    | {"report:closed", "report:reviewed", "report:open", "home:quality_manager", "home:supervisor"}
    | {"list", "defect_types", "defect_type:edit", "summary", "mail:summary:en", "chart:pareto"}
    | {"list.csv", "list.xlsx", "summary.csv", "summary.xlsx"},
    "defect_type.name_zh": {"nc:closed:zh", "nc:open:zh", "report:closed:zh", "home:quality_manager:zh", "list:zh"}
    | {"defect_types:zh", "defect_type:edit", "summary:zh", "mail:summary:zh", "chart:pareto:zh"}
    | {"list.csv:zh", "list.xlsx:zh", "summary.csv:zh", "summary.xlsx:zh"},
    "line.name": EVERY_NC_PAGE | {"lines", "line", "line:edit", "batch"},
    "supplier.name": {"suppliers", "supplier", "supplier:edit"},
    "supplier.approval_reason": {"supplier:approval"},
    "style.name": EVERY_NC_PAGE | {"styles", "style", "style:edit", "batch"},
    "style.fibre_content": {"style", "style:edit"},
    "style.change_reason": {"style"},
    "batch.colourway": {"batch", "lab_report"},
    "parameter.name": (EVERY_NC_PAGE - {"nc:closed:zh", "nc:open:zh"})
    | {"report:closed", "report:reviewed", "report:open", "catalog", "parameter", "plan", "style", "batch"}
    | {"defect_type:edit", "summary", "mail:summary:en", "chart:parameters", "summary.csv", "summary.xlsx"},
    "parameter.name_zh": {"nc:closed:zh", "nc:open:zh", "report:closed:zh", "catalog:zh", "parameter:zh"}
    | {"summary:zh", "mail:summary:zh", "chart:parameters:zh", "summary.csv:zh", "summary.xlsx:zh"},
    "parameter.standard": {"catalog", "catalog:zh", "parameter", "parameter:zh"},
    "parameter.clause": {"parameter", "parameter:zh"},
    "parameter.test_method": {"parameter", "parameter:zh"},
    "parameter.reason": {"parameter", "parameter:zh"},
    "parameter.unit": {"catalog", "parameter", "batch"},
    "limit.reason": {"parameter", "parameter:zh"},
    "plan.reason": {"style"},
    "result.lab": {"batch"},
    "result.report_number": {"batch"},
    "result.na_reason": {"batch"},
    "laboratory.name": {"lab_report", "batch", "import:preview"},
    "laboratory.cnas_number": {"lab_report"},
    "laboratory.cma_number": {"lab_report"},
    "laboratory.iso17025": {"lab_report"},
    "lab_report.number": {"lab_report", "batch"},
    "lab_report.sample_description": {"lab_report"},
    "user.email": {"user:supervisor"},
    "user.full_name": {"users", "user:quality_manager"} | CLOSED_NC_PAGES | {"nc:reviewed"} | REPORTS,
    "line.code": {"refused:line"},
    "user.username": {"refused:user"},
    "limit.value": {"refused:parameter"},
    "result.value": {"refused:result", "import:preview"},
}


@pytest.mark.parametrize("name", MARKS)
def test_a_free_text_field_reads_as_typed_and_is_markup_nowhere(world, name):
    live = where_live(world, MARKS[name])
    assert live == {}, f"{name}: its markup is live in {live}"
    missing = EXPECTED[name] - where_shown(world, SENT[name])
    assert not missing, f"{name}: not shown as it was typed in {sorted(missing)}"


def test_a_name_with_dollar_signs_is_text_in_the_charts_and_their_mail(world):
    for chart in ("chart:pareto", "chart:pareto:zh"):
        assert shown_in_svg(world[chart].content, DOLLARS), chart
    # The mail carries the same chart as PNG: it was drawn and sent.
    assert world["mail:summary:en"].kind == "html"
    assert shown_in_html(world["summary"].content, DOLLARS)


def test_every_place_was_read_and_every_field_is_expected_somewhere(world):
    assert set(EXPECTED) == set(MARKS)
    assert set().union(*EXPECTED.values()) <= set(world)
    # The reminders are plain text, which no mail reader runs as markup; the summary is HTML, checked as a page.
    assert {name for name, place in world.items() if place.kind == "text-mail"} == {
        "mail:overdue",
        "mail:review:en",
        "mail:review:zh",
    }
    assert world["mail:summary:en"].kind == world["mail:summary:zh"].kind == "html"


# Formulas in downloads ------------------------------------------------------------------------------------------

#: Where each free field a download carries is written: (download, sheet, column), below the header row.
EXPORTED = {
    "nc.title": [(f"list.{kind}{reader}", 0, 3) for kind in ("csv", "xlsx") for reader in ("", ":zh")],
    "defect_type.name": [("list.csv", 0, 4), ("list.xlsx", 0, 4), ("summary.csv", 0, 1), ("summary.xlsx", 0, 1)],
    "defect_type.name_zh": [
        ("list.csv:zh", 0, 4),
        ("list.xlsx:zh", 0, 4),
        ("summary.csv:zh", 0, 1),
        ("summary.xlsx:zh", 0, 1),
    ],
    "action.description": [("summary.xlsx", 1, 1), ("summary.xlsx:zh", 1, 1)],
}
DOWNLOADS = [
    f"{name}.{kind}{reader}" for name in ("list", "summary") for kind in ("csv", "xlsx") for reader in ("", ":zh")
]


def column(world: dict[str, Place], download: str, sheet: int, index: int) -> list[tuple[object, str]]:
    """The cells of a column below its header: (value, data type) each (``s`` for every CSV cell: text)."""
    place = world[download]
    rows = place.content[sheet][1:]
    if place.kind == "csv":
        return [(row[index], "s") for row in rows if len(row) > index]
    return [row[index] for row in rows if len(row) > index]


@pytest.mark.parametrize(
    ("name", "formula"),
    [(name, formula) for name in EXPORTED for formula in FORMULAS]
    + [(name, BEHIND_CONTROL) for name in ("nc.title", "action.description")],
)
def test_a_formula_typed_into_a_field_is_written_as_text_in_every_download(world, name, formula):
    for download, sheet, index in EXPORTED[name]:
        cells = column(world, download, sheet, index)
        values = [value for value, _kind in cells]
        assert CONTROL.sub("", formula) not in values, f"{name} in {download}: written as a formula"
        assert (as_text(formula), "s") in cells, f"{name} in {download}: not written as text: {values}"


@pytest.mark.parametrize("download", DOWNLOADS)
def test_no_cell_of_a_download_runs_as_a_formula(world, download):
    place = world[download]
    for cell in cells_of(place):
        if cell.startswith(("=", "+", "-", "@", "\t", "\r")):
            assert re.fullmatch(r"-?\d+(\.\d+)?", cell), f"{download}: {cell!r} would run as a formula"
    if place.kind == "xlsx":
        assert [value for sheet in place.content for row in sheet for value, kind in row if kind == "f"] == []


# Markup where it is refused ------------------------------------------------------------------------------------

PROBE = "<script>k9</script><b>k9</b>\"'&"
NEW_PARAMETER = {
    "code": "X-NEW",
    "name": "Pull force",
    "kind": "physical",
    "unit": "N",
    "standard": "Buyer",
    "limits": [{"category": "A", "comparator": "min", "limit": "70"}],
    "reason": "A buyer's protocol",
}


#: Where markup is refused by name: (address, body, the field the refusal names). A code (line, supplier, batch,
#: lot, parameter) takes letters, digits and ``-_./``; a condition, a limit and a lab value are read by the judge.
REFUSED = {
    "line.code": ("/api/v1/lines", {"code": PROBE, "name": "Line 9"}, "code"),
    "supplier.code": ("/api/v1/suppliers", {"code": PROBE, "name": "Mill"}, "code"),
    "lot.number": (
        "/api/v1/batches",
        {"number": "B-9", "style": "ST-9", "line": "L-9", "lots": [{"number": PROBE, "kind": "trim", "supplier": "S"}]},
        "lots[0].number",
    ),
    "parameter.code": ("/api/v1/parameters", {**NEW_PARAMETER, "code": PROBE}, "code"),
    "parameter.applies_when": ("/api/v1/parameters", {**NEW_PARAMETER, "applies_when": PROBE}, "applies_when"),
    "parameter.reporting_limit": ("/api/v1/parameters", {**NEW_PARAMETER, "reporting_limit": PROBE}, "reporting_limit"),
    "limit.value": (
        "/api/v1/parameters",
        {**NEW_PARAMETER, "limits": [{"category": "A", "comparator": "min", "limit": PROBE}]},
        "limits[0].limit",
    ),
    "limit.condition": (
        "/api/v1/parameters",
        {**NEW_PARAMETER, "limits": [{"category": "A", "comparator": "min", "limit": "70", "condition": PROBE}]},
        "limits[0].condition",
    ),
    "evaluated.value": ("/api/v1/evaluate", {"parameter": "CN-FORM", "category": "A", "value": PROBE}, "value"),
}


@pytest.mark.parametrize("name", REFUSED)
def test_markup_where_a_code_or_a_value_is_expected_is_refused_naming_the_field(api, name):
    address, body, named = REFUSED[name]
    qm = api("quality_manager")
    response = qm.post(address, json=body)
    assert response.status_code == 400, response.text
    assert named in response.json["error"]["fields"]
    assert qm.get("/api/v1/parameters/X-NEW").status_code == 404
    for records in ("lines", "suppliers", "batches"):
        assert answered(qm.get(f"/api/v1/{records}"))["items"] == []
