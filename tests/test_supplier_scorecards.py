"""A supplier's scorecard computed from its records, and the quality manager's approval decision taken on it.

The records are made through the API, then moved back in time by writing the columns they date from, so that each
falls in a chosen quarter. The expected counts, scores and grades are written out by hand from the story below
(default weights: incoming 25, lab 15, safety 30 at 15 points a failure, NCs 15, SCARs 15; grades A 90, B 75,
C 60, D), never computed with the app's queries.
"""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select, update

from capa import create_app
from capa.capas.models import Action, NonConformance
from capa.common.clock import plant_today, plant_zone
from capa.extensions import db
from capa.inspections.models import FabricInspection
from capa.masterdata.models import MaterialLot
from capa.safety.models import LabResult
from capa.suppliers.settings import InvalidScorecardSetting
from tests.pages import cells, fields_with_errors, one, table_rows
from tests.test_statement_counts import counting


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), plant_zone()).astimezone(UTC)


class Days:
    """The days the story's records are dated: in the quarter in progress, in the one before, two before, a year
    ago (in the oldest quarter shown but not in the rolling 12 months) and before every quarter shown."""

    def __init__(self, today: date):
        start = quarter_start(today)
        self.today = today
        self.last_quarter = start - timedelta(days=45)
        self.two_quarters_ago = start - timedelta(days=140)
        try:
            self.year_ago = today.replace(year=today.year - 1)
        except ValueError:
            self.year_ago = date(today.year - 1, 2, 28)
        oldest = date(start.year - 1, start.month, 1)
        self.too_old = oldest - timedelta(days=1)
        self.labels = [
            f"{oldest.year + (oldest.month + 3 * k - 1) // 12}-Q{(oldest.month - 1 + 3 * k) % 12 // 3 + 1}"
            for k in range(5)
        ]


@pytest.fixture
def qm(api):
    return api("quality_manager")


def created(response, status=201):
    assert response.status_code == status, response.json
    return response.json


def move(model, key, value, **columns):
    db.session.execute(update(model).where(key == value).values(**columns))
    db.session.commit()


def lot_id(number: str) -> int:
    return db.session.scalar(select(MaterialLot.id).where(MaterialLot.number == number))


@pytest.fixture
def story(app, qm, make_user):
    """MILL sells fabric and dye lots, SNAPS the snaps of batch B1 (a category A romper on L1)."""
    days = Days(plant_today())
    for code in ("MILL", "SNAPS"):
        created(qm.post("/api/v1/suppliers", json={"code": code, "name": f"{code} Ltd"}))
    created(qm.post("/api/v1/lines", json={"code": "L1", "name": "Line 1"}))
    created(qm.post("/api/v1/styles", json={"code": "ROMPER", "name": "Romper", "category": "A", "trims": ["medium"]}))
    lots = [("FAB-1", "fabric", "MILL"), ("DYE-1", "dye_lot", "MILL"), ("SNAP-1", "trim", "SNAPS")]
    body = {"number": "B1", "style": "ROMPER", "line": "L1"}
    created(
        qm.post("/api/v1/batches", json={**body, "lots": [{"number": n, "kind": k, "supplier": s} for n, k, s in lots]})
    )
    old_lots = [
        ("FAB-2", days.last_quarter),
        ("FAB-5", days.two_quarters_ago),
        ("FAB-3", days.year_ago),
        ("FAB-4", days.too_old),
    ]
    body = {"number": "B0", "style": "ROMPER", "line": "L1"}
    created(
        qm.post(
            "/api/v1/batches",
            json={**body, "lots": [{"number": n, "kind": "fabric", "supplier": "MILL"} for n, _ in old_lots]},
        )
    )
    for number, day in old_lots:
        move(MaterialLot, MaterialLot.number, number, created_at=noon(day))

    # Fabric inspections: FAB-1 accepted now, FAB-2 rejected for its shade last quarter, FAB-5 and FAB-3 accepted.
    def inspect(lot: str, day: date, shade: bool = True) -> None:
        roll = {"number": "R1", "length": 100, "width": 60, "shade_matches": shade}
        answer = created(qm.post("/api/v1/fabric-inspections", json={"lot": lot, "rolls": [roll]}))
        assert answer["verdict"] == ("accepted" if shade else "rejected")
        move(FabricInspection, FabricInspection.id, answer["id"], inspected_at=noon(day))

    inspect("FAB-1", days.today)
    inspect("FAB-2", days.last_quarter, shade=False)
    inspect("FAB-5", days.two_quarters_ago)
    inspect("FAB-3", days.year_ago)

    # Lab results on the lots: formaldehyde 35 mg/kg fails (A: at most 20), pH 6.0 passes, water fastness 2 fails.
    def result(lot: str, parameter: str, value: str, verdict: str, day: date) -> None:
        body = {
            "parameter": parameter,
            "value": value,
            "lab": "SGS",
            "report_number": f"R-{lot}-{parameter}",
            "tested_at": days.today.isoformat(),
            "lot": lot,
        }
        batch = "B1" if lot in {"FAB-1", "DYE-1"} else "B0"
        answer = created(qm.post(f"/api/v1/batches/{batch}/results", json=body))
        assert answer["verdict"] == verdict, answer
        move(LabResult, LabResult.id, answer["id"], tested_at=day)

    result("FAB-1", "CN-FORM", "35", "fail", days.today)
    result("FAB-1", "CN-PH", "6.0", "pass", days.today)
    result("DYE-1", "CN-CF-WATER", "2", "fail", days.today)
    result("FAB-2", "CN-CF-WATER", "4", "pass", days.last_quarter)
    result("FAB-3", "CN-FORM", "35", "fail", days.year_ago)

    # NCs: formaldehyde on B1 (the fabric's: MILL) now and last quarter, an open seam (nobody's material), a
    # formaldehyde NC cancelled as filed in error, a snap pulled off (the trims': SNAPS).
    def file(defect: str, day: date) -> str:
        body = {
            "title": f"A {defect}",
            "defect_type": defect,
            "source": "end_of_line",
            "line": "L1",
            "batch": "B1",
            "reported_at": noon(day).isoformat(),
        }
        return created(qm.post("/api/v1/nonconformances", json=body))["number"]

    formaldehyde = file("formaldehyde_over_limit", days.today)
    file("formaldehyde_over_limit", days.last_quarter)
    seam = file("open_seam", days.today)
    cancelled = file("formaldehyde_over_limit", days.today)
    move(NonConformance, NonConformance.number, cancelled, status="cancelled", cancelled_at=noon(days.today))
    file("loose_button", days.today)

    # SCARs on the formaldehyde NC, written as the action step leaves them: one answered on time last quarter, one
    # late, one open not yet due; and one on the seam's NC (charged to nobody).
    owner = make_user("quality_manager", "qm.scar")

    def scar(number: str, raised: date, due: date, done: date | None) -> None:
        nc_id = db.session.scalar(select(NonConformance.id).where(NonConformance.number == number))
        db.session.add(
            Action(
                nc_id=nc_id,
                kind="scar",
                description="SCAR to the mill",
                owner_id=owner.id,
                due_date=due,
                created_at=noon(raised),
                status="done" if done else "open",
                completed_at=noon(done) if done else None,
            )
        )
        db.session.commit()

    scar(formaldehyde, days.last_quarter, days.last_quarter + timedelta(days=5), days.last_quarter + timedelta(days=3))
    scar(
        formaldehyde, days.last_quarter, days.last_quarter + timedelta(days=10), days.last_quarter + timedelta(days=20)
    )
    scar(formaldehyde, days.today, days.today + timedelta(days=10), None)
    scar(seam, days.last_quarter, days.last_quarter + timedelta(days=5), None)
    return days


def period(body: dict, label: str) -> dict:
    return next(p for p in [*body["quarters"], body["rolling_12_months"]] if p["period"] == label)


def test_a_scorecard_counts_each_record_in_its_quarter_and_in_the_rolling_12_months(story, qm):
    body = created(qm.get("/api/v1/suppliers/MILL/scorecard"), 200)
    assert body["as_of"] == story.today.isoformat()
    assert [p["period"] for p in body["quarters"]] == story.labels
    assert [p["to_date"] for p in body["quarters"]] == [False, False, False, False, True]
    oldest, empty, two_ago, last, now = body["quarters"]
    rolling = body["rolling_12_months"]
    assert rolling["first_day"] == (story.year_ago + timedelta(days=1)).isoformat()
    assert rolling["last_day"] == now["last_day"] == story.today.isoformat()

    # Lots: FAB-1 and DYE-1 now; FAB-2 last quarter; FAB-5 two quarters ago; FAB-3 a year ago (not in the rolling
    # 12 months); FAB-4 before every quarter shown.
    assert [p["lots_received"] for p in body["quarters"]] == [1, 0, 1, 1, 2]
    assert rolling["lots_received"] == 4
    assert now["fabric"] == {"inspected": 1, "accepted": 1, "rejected": 0, "points_per_100": 0.0}
    assert last["fabric"]["rejected"] == 1 and oldest["fabric"]["accepted"] == 1
    assert (rolling["fabric"]["inspected"], rolling["fabric"]["accepted"]) == (3, 2)

    assert now["lab"]["safety_results"] == 2 and now["lab"]["safety_failed"] == 1
    assert (now["lab"]["quality_results"], now["lab"]["quality_failed"]) == (1, 1)
    assert oldest["lab"]["safety_failed"] == 1
    assert rolling["lab"]["parameters"] == [
        {
            "parameter": "CN-CF-WATER",
            "name": rolling["lab"]["parameters"][0]["name"],
            "safety": False,
            "results": 2,
            "failed": 1,
        },
        {
            "parameter": "CN-FORM",
            "name": rolling["lab"]["parameters"][1]["name"],
            "safety": True,
            "results": 1,
            "failed": 1,
        },
        {
            "parameter": "CN-PH",
            "name": rolling["lab"]["parameters"][2]["name"],
            "safety": True,
            "results": 1,
            "failed": 0,
        },
    ]

    # The formaldehyde NCs now and last quarter; not the seam's, not the cancelled one, not the snap's.
    assert [p["ncs"] for p in body["quarters"]] == [0, 0, 0, 1, 1]
    assert rolling["ncs"] == 2
    assert last["scars"] == {"raised": 2, "due": 2, "on_time": 1, "late": 1}
    assert now["scars"] == {"raised": 1, "due": 0, "on_time": 0, "late": 0}
    assert rolling["scars"] == {"raised": 3, "due": 2, "on_time": 1, "late": 1}

    # Now: a quality failure of one (15), one safety failure (15), one NC for two lots (7.5): 62.5, C.
    assert now["deductions"] == {"incoming": 0.0, "lab": 15.0, "safety": 15.0, "ncs": 7.5, "scars": 0.0}
    assert (now["score"], now["grade"]) == (62.5, "C")
    # Last quarter: its one lot rejected (25), one NC for one lot (15), one SCAR of two late (7.5): 52.5, D.
    assert (last["score"], last["grade"]) == (52.5, "D")
    # Two quarters ago: one lot, accepted: 100, A. The quarter before it had no record. A year ago: a safety
    # failure (15): 85, B.
    assert (two_ago["score"], two_ago["grade"]) == (100.0, "A")
    assert (empty["score"], empty["grade"], empty["deductions"]) == (None, None, None)
    assert (oldest["score"], oldest["grade"]) == (85.0, "B")
    # Rolling: 1 of 3 rejected (8.33), 1 of 2 quality failed (7.5), one safety failure (15), 2 NCs for 4 lots
    # (7.5), 1 of 2 SCARs late (7.5): 54.17 → 54.2, D, which suggests a suspension.
    assert (rolling["score"], rolling["grade"]) == (54.2, "D")
    assert body["suggested_approval"] == "suspended"
    # From 100 two quarters ago to 52.5 last quarter.
    assert body["trend"] == "worsening"
    assert body["settings"] == {
        "weights": {"incoming": 25, "lab": 15, "safety": 30, "ncs": 15, "scars": 15},
        "safety_failure_points": 15,
        "grades": [
            {"grade": "A", "lowest_score": 90.0, "suggests": "approved"},
            {"grade": "B", "lowest_score": 75.0, "suggests": "approved"},
            {"grade": "C", "lowest_score": 60.0, "suggests": "conditional"},
            {"grade": "D", "lowest_score": 0.0, "suggests": "suspended"},
        ],
    }

    snaps = created(qm.get("/api/v1/suppliers/SNAPS/scorecard"), 200)["rolling_12_months"]
    # SNAP-1 and the snap pulled off: one NC for one lot (15): 85, B.
    assert (snaps["lots_received"], snaps["ncs"], snaps["score"], snaps["grade"]) == (1, 1, 85.0, "B")
    assert created(qm.get("/api/v1/suppliers/NOPE/scorecard"), 404)["error"]["code"] == "not_found"


def test_a_supplier_without_records_has_no_score(app, qm):
    created(qm.post("/api/v1/suppliers", json={"code": "NEW", "name": "New mill"}))
    body = created(qm.get("/api/v1/suppliers/NEW/scorecard"), 200)
    assert {p["score"] for p in [*body["quarters"], body["rolling_12_months"]]} == {None}
    assert (body["trend"], body["suggested_approval"]) == (None, None)


def test_the_weights_and_grades_are_settings(app_config, tmp_path):
    for name, value in [
        ("CAPA_SCORECARD_WEIGHTS", "incoming=50,lab=50"),
        ("CAPA_SCORECARD_WEIGHTS", "incoming=25,lab=15,safety=30,ncs=15,scars=16"),
        ("CAPA_SCORECARD_GRADES", "A=90:approved,B=95:approved,C=0:suspended"),
        ("CAPA_SCORECARD_GRADES", "A=90:approved,B=50:maybe"),
        ("CAPA_SCORECARD_GRADES", "A=90:approved,B=50:conditional"),
    ]:
        with pytest.raises(InvalidScorecardSetting, match=name):
            create_app({**app_config, name: value})


def test_settings_change_the_score(app_config, request):
    app_config.update(
        {"CAPA_SCORECARD_GRADES": "Gold=80:approved,Other=0:conditional", "CAPA_SCORECARD_SAFETY_FAILURE_POINTS": 30}
    )
    request.getfixturevalue("app")
    client = request.getfixturevalue("api")("quality_manager")
    created(client.post("/api/v1/suppliers", json={"code": "MILL", "name": "Mill"}))
    created(client.post("/api/v1/lines", json={"code": "L1", "name": "Line 1"}))
    created(client.post("/api/v1/styles", json={"code": "TEE", "name": "Tee", "category": "A"}))
    lots = [{"number": "FAB-1", "kind": "fabric", "supplier": "MILL"}]
    created(client.post("/api/v1/batches", json={"number": "B1", "style": "TEE", "line": "L1", "lots": lots}))
    body = {
        "parameter": "CN-FORM",
        "value": "35",
        "lab": "SGS",
        "report_number": "R1",
        "tested_at": plant_today().isoformat(),
        "lot": "FAB-1",
    }
    created(client.post("/api/v1/batches/B1/results", json=body))
    card = created(client.get("/api/v1/suppliers/MILL/scorecard"), 200)
    # One safety failure now takes the whole safety weight (30): 70, below Gold.
    assert (card["rolling_12_months"]["score"], card["rolling_12_months"]["grade"]) == (70.0, "Other")
    assert card["suggested_approval"] == "conditional"
    assert card["settings"]["grades"][0] == {"grade": "Gold", "lowest_score": 80.0, "suggests": "approved"}


def test_a_quality_manager_decides_the_approval_with_a_reason_and_the_decision_is_recorded(story, qm, api):
    refused = created(qm.post("/api/v1/suppliers/MILL/decisions", json={"approval": "suspended"}), 400)
    assert set(refused["error"]["fields"]) == {"reason"}
    for role in ("supervisor", "admin"):
        answer = api(role).post("/api/v1/suppliers/MILL/decisions", json={"approval": "suspended", "reason": "x"})
        assert answer.status_code == 403
    # Nor can an admin flip the approval through the master data.
    flipped = api("admin").patch("/api/v1/suppliers/MILL", json={"approval": "suspended", "reason": "x"})
    assert flipped.status_code == 403 and "approval" in flipped.json["error"]["fields"]
    assert qm.get("/api/v1/suppliers/MILL").json["approval"] == "approved"

    # The grade suggests a suspension; the quality manager decides a conditional approval for fabric, to be
    # evaluated again in three months.
    again = (story.today + timedelta(days=90)).isoformat()
    decision = created(
        qm.post(
            "/api/v1/suppliers/MILL/decisions",
            json={
                "approval": "conditional",
                "approved_kinds": ["fabric", "dye_lot"],
                "reevaluate_on": again,
                "reason": "Formaldehyde failure contained; resin finish changed, retests due.",
            },
        )
    )
    assert {
        k: decision[k]
        for k in (
            "previous_approval",
            "approval",
            "approved_kinds",
            "reevaluate_on",
            "score",
            "grade",
            "suggested_approval",
            "decided_by",
        )
    } == {
        "previous_approval": "approved",
        "approval": "conditional",
        "approved_kinds": ["dye_lot", "fabric"],
        "reevaluate_on": again,
        "score": 54.2,
        "grade": "D",
        "suggested_approval": "suspended",
        "decided_by": qm.get("/api/v1/me").json["username"],
    }
    supplier = qm.get("/api/v1/suppliers/MILL").json
    assert (supplier["approval"], supplier["approved_kinds"], supplier["reevaluate_on"]) == (
        "conditional",
        ["dye_lot", "fabric"],
        again,
    )
    # A later decision confirming it as it stands is recorded too, latest first.
    created(qm.post("/api/v1/suppliers/MILL/decisions", json={"approval": "conditional", "reason": "Reviewed."}))
    items = created(qm.get("/api/v1/suppliers/MILL/decisions"), 200)["items"]
    assert [(i["previous_approval"], i["approval"], i["reason"]) for i in items] == [
        ("conditional", "conditional", "Reviewed."),
        ("approved", "conditional", "Formaldehyde failure contained; resin finish changed, retests due."),
    ]
    history = created(qm.get("/api/v1/suppliers/MILL/history"), 200)
    entries = history["items"] if isinstance(history, dict) else history
    assert [e["kind"] for e in entries].count("decision") == 2
    assert any(e.get("field") == "approval" and e.get("new") == "conditional" and e["kind"] == "field" for e in entries)


def test_the_supplier_page_shows_the_scorecard_and_takes_the_decision(story, auth, client):
    auth.as_role("quality_manager")
    page = client.get("/suppliers/MILL")
    assert page.status_code == 200
    rows = {cells(row)[0]: cells(row)[1:] for row in table_rows(one(page.text, "table.scorecard"))}
    assert rows["Lots received"] == ["1", "0", "1", "1", "2", "4"]
    assert rows["Safety results failed"][-2:] == ["1 / 2", "1 / 2"]
    assert rows["SCARs answered on time"][-1] == "1 / 2"
    assert rows["Grade"] == ["B", "–", "A", "D", "C", "D"]
    text = page.get_data(as_text=True)
    assert "CN-FORM" in text and "How the score is computed" in text

    # The form offers the suggested approval first.
    assert one(page.text, "#decision-approval option[selected]").attributes["value"] == "suspended"
    refused = client.post("/suppliers/MILL/decisions", data={"decision-approval": "conditional", "decision-reason": ""})
    assert refused.status_code == 400
    assert fields_with_errors(refused.text) == {"decision-reason"}
    assert one(refused.text, "#decision-approval option[selected]").attributes["value"] == "conditional"
    accepted = client.post(
        "/suppliers/MILL/decisions",
        data={"decision-approval": "suspended", "decision-reason": "Two safety failures in a year."},
    )
    assert accepted.status_code == 302
    page = client.get("/suppliers/MILL")
    decided = table_rows(one(page.text, "#scorecard table.decisions"))
    assert len(decided) == 1 and "Two safety failures in a year." in cells(decided[0])
    assert client.get("/api/v1/suppliers/MILL").status_code == 401  # the pages' session is not the API's


def test_the_scorecard_reads_in_chinese(story, auth, client):
    auth.as_role("quality_manager")
    client.post("/language", data={"language": "zh_Hans_CN", "next": "/suppliers/MILL"})
    text = client.get("/suppliers/MILL").get_data(as_text=True)
    assert "供应商评分卡" in text and "滚动12个月" in text


def test_a_scorecard_reads_as_many_statements_however_many_records(story, qm, make_user):
    """The scorecard and the supplier's page: the same statements with the story's records and with 30 more lots,
    lab results and SCARs."""

    def measured() -> tuple[int, dict]:
        with counting() as statements:
            body = created(qm.get("/api/v1/suppliers/MILL/scorecard"), 200)
        return len(statements), body["rolling_12_months"]

    before, rolling = measured()
    owner = make_user("quality_manager", "qm.more")
    # The story's first formaldehyde NC: three share the title, one of them cancelled (whose SCARs count for none).
    nc_id = db.session.scalar(
        select(NonConformance.id)
        .where(NonConformance.title == "A formaldehyde_over_limit", NonConformance.status != "cancelled")
        .order_by(NonConformance.id)
        .limit(1)
    )
    parameter = db.session.scalar(select(LabResult.parameter_id).limit(1))
    supplier_id = db.session.scalar(select(MaterialLot.supplier_id).where(MaterialLot.number == "FAB-1"))
    for index in range(30):
        lot = MaterialLot(number=f"MORE-{index}", kind="fabric", supplier_id=supplier_id)
        db.session.add(lot)
        db.session.flush()
        db.session.add(
            LabResult(
                lot_id=lot.id,
                parameter_id=parameter,
                value="1",
                verdict="pass",
                category="A",
                unit="mg/kg",
                explanation="",
                tested_at=story.today,
                recorded_by_id=owner.id,
            )
        )
        db.session.add(
            Action(
                nc_id=nc_id,
                kind="scar",
                description="More",
                owner_id=owner.id,
                due_date=story.today - timedelta(days=1),
            )
        )
    db.session.commit()
    after, more = measured()
    assert after == before
    assert (more["lots_received"], more["scars"]["due"]) == (
        rolling["lots_received"] + 30,
        rolling["scars"]["due"] + 30,
    )
