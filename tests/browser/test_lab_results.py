"""A lab report as the quality manager enters it from the lab's paper, in Chromium: the values written as the
lab wrote them (ND, 4级, 35 mg/kg), the batch's coverage naming the failing result, and the NC raised from it
with the batch on hold in the same step. Played on a phone in Chinese and on a desktop in English."""

import pytest
from playwright.sync_api import expect

from capa.common.clock import plant_today
from capa.common.commands import parse
from capa.masterdata import service as masterdata
from capa.masterdata.commands import StyleChanges
from tests.browser.people import QUALITY_MANAGER


@pytest.fixture
def bib_requires_cmia(app, plant) -> None:
    """The bib BIB-410 of the plant, its tech pack requiring CMIA, so that its batch has a coverage."""
    with app.app_context():
        masterdata.update_style(masterdata.get_style("BIB-410"), parse(StyleChanges, {"cmia_required": True}))


@pytest.mark.parametrize(
    ("language", "size"), [("zh_Hans_CN", "phone"), ("en", "desktop")], ids=["zh-phone", "en-desktop"]
)
def test_a_lab_report_with_a_failure_raises_an_nc_with_the_batch_on_hold(person, bib_requires_cmia, language, size):
    qm = person(QUALITY_MANAGER, size, language)
    page = qm.page
    page.goto("/batches/B-410-01")
    qm.link(qm.t("New lab report")).click()
    expect(qm.heading(qm.t("New lab report for batch %(number)s", number="B-410-01"), level=1)).to_be_visible()
    qm.label("Laboratory").fill("SGS Shanghai")
    qm.label("CNAS number").fill("L0599")
    qm.label("Report number").fill("SGS-SH-2026-0099")
    qm.label("Component tested").select_option("whole_garment")
    today = plant_today().isoformat()
    qm.label("Test date").fill(today)
    qm.label("Report date").fill(today)
    result = qm.t("Result")
    page.get_by_label(f"{result} (CN-FORM)", exact=True).fill("35 mg/kg")
    page.get_by_label(f"{result} (CN-PH)", exact=True).fill("6,5")
    page.get_by_label(f"{result} (CN-CF-SALIVA)", exact=True).fill("4级")
    page.get_by_label(f"{result} (CN-AZO)", exact=True).fill("ND")
    assert qm.no_sideways_scrolling()
    qm.button("Record and judge").click()

    # The report's page: each value as the lab wrote it, judged.
    expect(qm.heading(qm.t("Lab report %(number)s", number="SGS-SH-2026-0099"), level=1)).to_be_visible()
    expect(qm.main).to_contain_text("4级")
    expect(qm.main).to_contain_text("CNAS L0599")

    # The batch's coverage names the failing result and offers to raise an NC from it.
    page.goto("/batches/B-410-01")
    coverage = page.locator("section.coverage")
    expect(coverage).to_contain_text(qm.t("Not releasable for CMIA:"))
    failing = coverage.locator("li.coverage-failed").filter(has=page.get_by_role("link", name="CN-FORM", exact=True))
    expect(failing).to_contain_text("SGS-SH-2026-0099")
    failing.get_by_label(qm.t("Put batch %(number)s on hold", number="B-410-01")).check()
    assert qm.no_sideways_scrolling()
    qm.button("Raise an NC", failing).click()

    number = qm.nc_number_in_heading()
    qm.shows_state("Reported")
    expect(qm.main).to_contain_text("SGS-SH-2026-0099")
    expect(qm.main).to_contain_text("B-410-01")
    # Linked both ways: the batch page's failing row now names the NC instead of the form.
    page.goto("/batches/B-410-01")
    failing = page.locator("section.coverage li.coverage-failed").filter(
        has=page.get_by_role("link", name="CN-FORM", exact=True)
    )
    expect(failing.get_by_role("link", name=number, exact=True)).to_be_visible()
    expect(qm.main).to_contain_text(number)
