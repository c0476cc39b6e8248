"""A failing lab result raises a non-conformance, on the batch page and through the API
(``POST /api/v1/results/<id>/raise-nc``): the NC comes filled with the batch, style, line, parameter and the
result, linked both ways, and the batch or the lot goes on hold in the same step, or nothing is stored.
"""

import pytest
from sqlalchemy import func, select

from capa.capas import queries, raising
from capa.capas.models import Hold, NonConformance, NumberCounter
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.safety import service
from capa.safety.judging import Outcome
from tests.conftest import new_user
from tests.pages import flashes, text
from tests.test_coverage import add_result, days_ago, plant  # noqa: F401 (the fixture)


@pytest.fixture
def qm(api):
    return api("quality_manager")


@pytest.fixture
def navy_failure(plant) -> int:  # noqa: F811
    """Formaldehyde 35 mg/kg on batch B-1 (category A), navy, dye lot DL-N, report N-7."""
    return add_result("B-1", "CN-FORM", "35", colourway="navy", lot="DL-N", tested_at=days_ago(4), report_number="N-7")


def stored_ncs(app) -> list[tuple]:
    """(number, source result id, holds) of every NC, read in a session of its own."""
    with app.app_context():
        return [
            (nc.number, nc.source_result_id, [hold.subject for hold in nc.holds])
            for nc in db.session.scalars(select(NonConformance).order_by(NonConformance.id))
        ]


def numbers_taken(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.coalesce(func.sum(NumberCounter.last), 0)))


# Through the API -----------------------------------------------------------------------------------------


def test_a_quality_manager_raises_an_nc_from_a_failing_result_with_the_batch_on_hold(app, navy_failure, qm):
    response = qm.post(f"/api/v1/results/{navy_failure}/raise-nc", json={"hold": "batch"})
    assert response.status_code == 201, response.json
    nc = response.json
    number = nc["number"]
    assert (nc["status"], nc["source"], nc["batch"], nc["style"], nc["line"]) == (
        "reported",
        "lab_test",
        "B-1",
        "RMP-A",
        "L1",
    )
    assert nc["parameters"] == ["CN-FORM"]
    assert nc["defect_type"] == "formaldehyde_over_limit"
    assert nc["severity"] == "critical"  # a category A style
    assert nc["safety_critical"] is True
    assert nc["title"] == "Formaldehyde content failed: 35 mg/kg (≤ 20 mg/kg)"
    for quoted in ("B-1", "CN-FORM", "35 mg/kg exceeds the category A limit of 20 mg/kg", "N-7", "SGS Shanghai"):
        assert quoted in nc["description"]
    assert "Colourway: navy." in nc["description"]
    assert "Lot: DL-N." in nc["description"]
    # Linked both ways.
    assert (nc["source_result"]["id"], nc["source_result"]["raised_nc"]) == (navy_failure, number)
    [listed] = qm.get("/api/v1/batches/B-1/results").json["items"]
    assert listed["raised_nc"] == number
    answer = qm.get("/api/v1/batches/B-1/coverage").json
    [navy] = [entry for entry in answer["colourways"] if entry["colourway"] == "navy"]
    assert next(row for row in navy["parameters"] if row["code"] == "CN-FORM")["governing"]["raised_nc"] == number
    # Held in the same step, and written in the history as containment writes a hold.
    assert [(hold["batch"], hold["lot"], hold["released_at"]) for hold in nc["containment"]["holds"]] == [
        ("B-1", None, None)
    ]
    kinds = [(event["kind"], event["new"]) for event in nc["history"]]
    assert kinds[0] == ("filed", number)
    assert ("raised_from", "CN-FORM 35 mg/kg") in kinds
    assert ("hold", "B-1") in kinds
    assert stored_ncs(app) == [(number, navy_failure, ["B-1"])]
    with app.app_context():
        assert queries.held_numbers(masterdata.get_batch("B-1")) == [number]
    assert qm.get(f"/api/v1/nonconformances/{number}").json["source_result"]["id"] == navy_failure


def test_the_lot_of_the_failing_result_goes_on_hold(app, navy_failure, qm):
    response = qm.post(f"/api/v1/results/{navy_failure}/raise-nc", json={"hold": "lot"})
    assert response.status_code == 201, response.json
    holds = response.json["containment"]["holds"]
    assert [(hold["batch"], hold["lot"]) for hold in holds] == [(None, "DL-N")]
    assert ("hold", "DL-N") in [(event["kind"], event["new"]) for event in response.json["history"]]


def test_without_a_hold_nothing_is_held_and_an_empty_body_will_do(app, navy_failure, qm):
    response = qm.post(f"/api/v1/results/{navy_failure}/raise-nc", json={})
    assert response.status_code == 201, response.json
    assert response.json["containment"]["holds"] == []
    with app.app_context():
        assert queries.held_numbers(masterdata.get_batch("B-1")) == []


def test_the_title_description_and_defect_type_given_are_kept(app, navy_failure, qm):
    body = {"title": "Navy bib over the limit", "description": "Seen by the buyer's lab.", "defect_type": "stain"}
    nc = qm.post(f"/api/v1/results/{navy_failure}/raise-nc", json=body).json
    assert (nc["title"], nc["description"], nc["defect_type"]) == (
        "Navy bib over the limit",
        "Seen by the buyer's lab.",
        "stain",
    )


def test_a_result_is_raised_once_the_second_raise_names_the_first_nc(app, navy_failure, qm):
    first = qm.post(f"/api/v1/results/{navy_failure}/raise-nc", json={}).json["number"]
    again = qm.post(f"/api/v1/results/{navy_failure}/raise-nc", json={"hold": "batch"})
    assert again.status_code == 409
    error = again.json["error"]
    assert error["code"] == "conflict"
    assert "result" in error["fields"]
    assert error["number"] == first
    assert first in error["message"]
    assert stored_ncs(app) == [(first, navy_failure, [])]


def test_a_raise_that_loses_a_race_files_nothing_and_holds_nothing(app, navy_failure, qm, monkeypatch):
    first = qm.post(f"/api/v1/results/{navy_failure}/raise-nc", json={}).json["number"]
    taken = numbers_taken(app)
    # As if the other raise committed between this one's check and its filing.
    monkeypatch.setattr(raising, "raised_from", lambda result: None)
    response = qm.post(f"/api/v1/results/{navy_failure}/raise-nc", json={"hold": "batch"})
    assert response.status_code == 409
    assert response.json["error"]["number"] == first
    assert stored_ncs(app) == [(first, navy_failure, [])]
    assert numbers_taken(app) == taken  # the number it took was rolled back with it
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Hold)) == 0


def test_a_passing_result_raises_nothing(app, plant, qm):  # noqa: F811
    passing = add_result("B-1", "CN-FORM", "12", colourway="red", lot="DL-R")
    response = qm.post(f"/api/v1/results/{passing}/raise-nc", json={"hold": "batch"})
    assert response.status_code == 409
    assert "result" in response.json["error"]["fields"]
    assert stored_ncs(app) == []


def test_a_failing_result_on_material_alone_raises_nothing(app, plant, qm):  # noqa: F811
    on_lot = add_result(None, "CN-FORM", "35", verdict=Outcome.FAIL, lot="F-1", category="A", component="fabric")
    response = qm.post(f"/api/v1/results/{on_lot}/raise-nc", json={})
    assert response.status_code == 409
    assert "result" in response.json["error"]["fields"]
    assert stored_ncs(app) == []


def test_an_unknown_result_is_404(app, plant, qm):  # noqa: F811
    response = qm.post("/api/v1/results/999999/raise-nc", json={})
    assert response.status_code == 404
    assert stored_ncs(app) == []


@pytest.mark.parametrize(("body", "field"), [({"hold": "pallet"}, "hold"), ({"colour": "navy"}, "colour")])
def test_a_bad_body_is_400_naming_the_field(app, navy_failure, qm, body, field):
    response = qm.post(f"/api/v1/results/{navy_failure}/raise-nc", json=body)
    assert response.status_code == 400
    assert field in response.json["error"]["fields"]
    assert stored_ncs(app) == []


def test_holding_the_lot_of_a_result_without_one_is_refused(app, plant, qm):  # noqa: F811
    garment = add_result("B-2", "CN-FORM", "35")
    response = qm.post(f"/api/v1/results/{garment}/raise-nc", json={"hold": "lot"})
    assert response.status_code == 400
    assert "hold" in response.json["error"]["fields"]
    assert stored_ncs(app) == []


def test_a_parameter_no_single_defect_type_concerns_needs_one_named(app, plant, qm):  # noqa: F811
    taken_by_default = set(raising.RaiseOffer.for_user(new_user("quality_manager")).defaults)
    required, _added, _dropped = service.plan_parameters(masterdata.get_style("RMP-A"))
    lonely = next(p.code for p in required if p.id not in taken_by_default)
    failing = add_result("B-2", lonely, "bad", verdict=Outcome.FAIL)
    response = qm.post(f"/api/v1/results/{failing}/raise-nc", json={})
    assert response.status_code == 400
    assert "defect_type" in response.json["error"]["fields"]
    assert stored_ncs(app) == []
    response = qm.post(f"/api/v1/results/{failing}/raise-nc", json={"defect_type": "stain"})
    assert response.status_code == 201, response.json
    assert response.json["parameters"] == [lonely]


# Who may raise, and who may hold ---------------------------------------------------------------------------


def test_a_supervisor_raises_the_nc_but_may_not_put_goods_on_hold(app, navy_failure, api):
    supervisor = api("supervisor")
    refused = supervisor.post(f"/api/v1/results/{navy_failure}/raise-nc", json={"hold": "batch"})
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "forbidden"
    assert "hold" in refused.json["error"]["fields"]
    assert "quality manager" in refused.json["error"]["message"]
    assert stored_ncs(app) == []
    assert numbers_taken(app) == 0

    raised = supervisor.post(f"/api/v1/results/{navy_failure}/raise-nc", json={})
    assert raised.status_code == 201
    assert raised.json["containment"]["holds"] == []
    assert raised.json["number"].endswith("-00001")


def test_raising_needs_a_token(app, navy_failure, api):
    assert api(None).post(f"/api/v1/results/{navy_failure}/raise-nc", json={}).status_code == 401
    assert stored_ncs(app) == []


# On the batch page -----------------------------------------------------------------------------------------


def test_a_quality_manager_raises_from_the_batch_page_and_holds_the_lot(app, navy_failure, client, auth):
    auth.as_role("quality_manager")
    response = client.post(f"/results/{navy_failure}/raise-nc", data={"hold": "lot"})
    assert response.status_code == 302
    [(number, source, holds)] = stored_ncs(app)
    assert (source, holds) == (navy_failure, ["DL-N"])
    assert response.headers["Location"] == f"/nc/{number}"

    page = client.get(f"/nc/{number}")
    assert page.status_code == 200
    body = text(page.text)
    assert f"{number} raised from the failing result." in body
    assert "Raised from the lab result" in body
    assert "35 mg/kg exceeds the category A limit of 20 mg/kg" in body
    assert "Formaldehyde content failed: 35 mg/kg (≤ 20 mg/kg)" in body

    batch = text(client.get("/batches/B-1").text)
    assert f"Non-conformance raised from this result: {number}" in batch
    assert "Raise an NC" not in batch
    assert f"Held by {number}" in batch


def test_raising_again_from_the_page_returns_to_the_batch_page_saying_why(app, navy_failure, client, auth):
    auth.as_role("quality_manager")
    client.post(f"/results/{navy_failure}/raise-nc", data={"hold": "batch"})
    [(number, _source, _holds)] = stored_ncs(app)
    response = client.post(f"/results/{navy_failure}/raise-nc", data={"hold": "batch"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/batches/B-1"
    page = client.get("/batches/B-1").text
    assert f"Already raised as {number}." in [text(node) for node in flashes(page, "error")]
    assert len(stored_ncs(app)) == 1


def test_a_supervisor_s_hold_from_the_page_is_refused_and_said(app, navy_failure, client, auth):
    auth.as_role("supervisor")
    response = client.post(f"/results/{navy_failure}/raise-nc", data={"hold": "batch"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/batches/B-1"
    page = client.get("/batches/B-1").text
    assert any("Only a quality manager may put goods on hold" in text(node) for node in flashes(page, "error"))
    assert stored_ncs(app) == []

    response = client.post(f"/results/{navy_failure}/raise-nc", data={})
    assert response.status_code == 302
    assert len(stored_ncs(app)) == 1


def test_the_governing_failure_leaves_the_batch_not_releasable_after_raising(app, navy_failure, qm):
    qm.post(f"/api/v1/results/{navy_failure}/raise-nc", json={"hold": "batch"})
    with app.app_context():
        found = service.coverage_for(masterdata.get_batch("B-1"))
        assert found.releasable is False
        assert "CN-FORM" in found.codes("failed")
