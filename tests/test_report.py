"""The 8D report of a CAPA, as a page for print and as a PDF.

One CAPA is taken through the whole story once per module (the loose-button story with a photo, a returned and
an approved round, a retraining and a standard revision with their evidence files, dispositions of the held
batch, a retest, the closing with its evidence and a failed effectiveness review that files a follow-up), on
the module's own database, through the services; the tests then only read its report, in English and in
Chinese, as HTML and as PDF (read back with pypdf).
"""

import io
import os
import re
import sys
from datetime import timedelta
from types import SimpleNamespace

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import event

from capa.accounts import service as accounts
from capa.capas import dispositions, effectiveness, lookup, photos, steps
from capa.capas.commands import (
    Close,
    CompleteAction,
    Contain,
    Dispose,
    EffectivenessReview,
    NewAction,
    Reinspect,
)
from capa.capas.photos import Upload
from capa.common.clock import plant_today
from capa.common.commands import parse
from capa.common.display import local_moment
from capa.extensions import db
from capa.web.capas.report import PRINT_PIXELS, OwnFiles, Refused, css_string
from tests.conftest import PASSWORD, new_user
from tests.pages import elements, image_sources, logged_in, one, parsed, text, texts
from tests.test_capa_pages import CONTAINMENT, EFFECTIVENESS, RETURN_COMMENT, STATEMENT, Workflow, make_factory


def _pdf_missing() -> str | None:
    """Why this machine cannot make PDFs (WeasyPrint loads Pango when imported), or None when it can."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as error:
        return f"WeasyPrint cannot start ({error}): install Pango, `apt-get install libpango-1.0-0 libpangoft2-1.0-0`"
    return None


#: The PDF tests run wherever Pango is installed; in CI they run regardless, so that its absence fails the run.
needs_pdf = pytest.mark.skipif(bool(_pdf_missing()) and not os.environ.get("CI"), reason=str(_pdf_missing()))

RED = (220, 20, 20)
#: A real PDF as the evidence store judges one: ``%PDF-`` first, ``%%EOF`` last.
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
REVIEW_NOTE = "Two more loose snaps on batch B-1 two weeks after closing."
CONCESSION = ("Little Sprout Ltd", "CN-2026-117")


def jpeg(width: int, height: int) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (width, height), RED).save(output, "JPEG", quality=80)
    return output.getvalue()


def story(qm, sup) -> str:
    """The loose-button CAPA taken from filing to a failed effectiveness review; its number."""
    flow = Workflow(qm, sup)
    number = flow.file()
    photos.add_photos(lookup.get_nc(number), [Upload("snap-torn.jpg", jpeg(2000, 1500))], sup)
    steps.contain(
        lookup.get_nc(number),
        parse(Contain, {"description": CONTAINMENT, "hold": ["B-1"], "quantities": {"B-1": 120}}),
        qm,
    )
    flow.submit(number, statement="Operator error.")
    flow.review(number, "return", RETURN_COMMENT)
    flow.submit(number)
    flow.review(number)
    nc = lookup.get_nc(number)
    due = (plant_today() + timedelta(days=14)).isoformat()
    for kind, description, owner in (
        ("standard_revision", "Revise the stitch-density standard", qm),
        ("training", "Retrain the button-machine operators", sup),
    ):
        steps.add_action(
            nc,
            parse(NewAction, {"kind": kind, "description": description, "owner": owner.username, "due_date": due}),
            qm,
        )
    revision, training = lookup.get_nc(number).actions
    steps.complete_action(
        revision,
        parse(
            CompleteAction,
            {
                "evidence": "Standard reissued to the line",
                "document": "SOP-SEW-12",
                "revision": "C",
                "files": [Upload("SOP-SEW-12-rev-C.pdf", PDF)],
            },
        ),
        qm,
    )
    steps.complete_action(
        training,
        parse(
            CompleteAction,
            {
                "evidence": "Pull test shown at the machine",
                "trained": "Zhang Wei, Liu Yang",
                "files": [Upload("training-record.jpg", jpeg(640, 480))],
            },
        ),
        sup,
    )
    flow.retest(number)
    nc = lookup.get_nc(number)
    hold = nc.holds[0]
    rework = dispositions.dispose(
        nc,
        hold.id,
        parse(Dispose, {"password": PASSWORD, "kind": "rework", "quantity": 20, "reason": "Snaps re-set by hand"}),
        qm,
    )
    dispositions.reinspect(rework.id, parse(Reinspect, {"passed": True, "note": "All 20 pass the pull test"}), qm)
    dispositions.dispose(
        lookup.get_nc(number),
        hold.id,
        parse(
            Dispose,
            {
                "password": PASSWORD,
                "kind": "use_as_is",
                "reason": "Buyer accepts after the 100% pull test",
                "evidence": "Pull test log of 100 pieces",
                "concession_buyer": CONCESSION[0],
                "concession_reference": CONCESSION[1],
            },
        ),
        qm,
    )
    steps.close(
        lookup.get_nc(number),
        parse(
            Close, {"password": PASSWORD, "effectiveness": EFFECTIVENESS, "files": [Upload("closing-audit.pdf", PDF)]}
        ),
        qm,
    )
    effectiveness.review_effectiveness(
        lookup.get_nc(number),
        parse(
            EffectivenessReview,
            {"password": PASSWORD, "verdict": "not_effective", "recurred": True, "note": REVIEW_NOTE},
        ),
        qm,
    )
    return number


@pytest.fixture(scope="module")
def closed(module_app) -> SimpleNamespace:
    """The story's CAPA, its people and what the report must show; browsers of an English-reading quality
    manager (``qm``) and a Chinese-reading supervisor (``zh``)."""
    with module_app.app_context():
        make_factory()
        qm, sup = new_user("quality_manager", "qm.wang"), new_user("supervisor", "sup.li")
        reader = new_user("supervisor", "sup.zhao")
        accounts.set_language(reader, "zh_Hans_CN")
        number = story(qm, sup)
        nc = lookup.get_nc(number)
        with module_app.test_request_context():
            rounds = [
                (
                    local_moment(a.submitted_at),
                    a.submitted_by.username,
                    local_moment(a.reviewed_at),
                    a.reviewed_by.username,
                )
                for a in nc.analyses
            ]
            reviewed = local_moment(nc.effectiveness_reviewed_at)
        found = SimpleNamespace(
            number=number,
            photo=f"/nc/{number}/photos/{nc.photos[0].id}",
            training_file=f"/nc/{number}/attachments/{nc.actions[1].attachments[0].id}",
            revision_file=f"/nc/{number}/attachments/{nc.actions[0].attachments[0].id}",
            rounds=rounds,
            effectiveness_reviewed=reviewed,
            follow_up=nc.follow_ups[0].number,
            qm=logged_in(module_app, qm),
            zh=logged_in(module_app, reader),
        )
    return found


@pytest.fixture(scope="module")
def report(closed) -> str:
    response = closed.qm.get(f"/nc/{closed.number}/report")
    assert response.status_code == 200
    return response.text


@pytest.fixture(scope="module")
def pdf(closed):
    return closed.qm.get(f"/nc/{closed.number}/report.pdf")


@pytest.fixture(scope="module")
def pdf_zh(closed):
    return closed.zh.get(f"/nc/{closed.number}/report.pdf")


def sections(html: str) -> dict[str, str]:
    """Each section of the report by its id (d1 … d8), as text."""
    return {part.attributes["id"]: text(part) for part in parsed(html).css("main > section")}


def pdf_text(response) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(response.data)).pages)


# The page ---------------------------------------------------------------------------------------------------


def test_the_report_shows_the_team_with_what_each_did(closed, report):
    team = {row[0]: row[1] for row in ([text(c) for c in elements(r)] for r in parsed(report).css("#d1 tbody tr"))}
    assert "filed the non-conformance" in team["sup.li"] and "root-cause analysis" in team["sup.li"]
    for part in ("review of the root cause", "closed the CAPA", "effectiveness review", "disposition of held goods"):
        assert part in team["qm.wang"], part


def test_the_report_shows_the_photos_as_thumbnails_linking_to_them(closed, report):
    d2 = one(report, "#d2")
    assert (closed.photo, "snap-torn.jpg") in image_sources(d2)
    assert one(d2, "figure.thumb a").attributes["href"] == closed.photo
    assert "snap-torn.jpg" in texts(d2, "figcaption")


def test_every_round_shows_its_submitter_reviewer_times_decision_and_comment(closed, report):
    rounds = parsed(report).css("#d4 .round")
    assert [text(one(r, "h3")) for r in rounds] == [
        "Round 1 · Returned with a question",
        "Round 2 · Approved in review",
    ]
    for shown, (submitted_at, submitter, reviewed_at, reviewer) in zip(rounds, closed.rounds, strict=True):
        facts = dict(zip(texts(shown, "dt"), texts(shown, "dd"), strict=True))
        assert facts["Submitted"] == f"{submitter} · {submitted_at}"
        assert facts["Reviewed"] == f"{reviewer} · {reviewed_at}"
    assert (closed.rounds[0][1], closed.rounds[0][3]) == ("sup.li", "qm.wang")
    assert f"Review: {RETURN_COMMENT}" in text(rounds[0])
    assert "Operator error." in text(rounds[0]) and STATEMENT in text(rounds[1])


def test_the_report_shows_the_hold_and_every_disposition(closed, report):
    d3 = one(report, "#d3")
    assert CONTAINMENT in text(d3)
    assert re.match(r"Batch B-1: held .+ · qm\.wang · quantity 120$", text(one(d3, ".hold h3")))
    rows = [[text(c) for c in elements(row)] for row in d3.css("table.dispositions tbody tr")]
    assert len(rows) == 2
    rework, concession = rows
    assert rework[0] == "Rework, then re-inspect" and rework[1] == "20" and rework[2].startswith("qm.wang · ")
    assert rework[3] == "Snaps re-set by hand"
    assert rework[4].startswith("passed · qm.wang · ") and "All 20 pass the pull test" in rework[4]
    assert concession[0] == f"Use as is (buyer's concession) Concession: {CONCESSION[0]} · {CONCESSION[1]}"
    assert concession[1] == "100"
    assert concession[3] == "Buyer accepts after the 100% pull test Evidence: Pull test log of 100 pieces"
    assert "released" in text(d3)


def test_the_report_shows_the_actions_with_their_evidence_files_and_photo_thumbnails(closed, report):
    rows = {
        cells[2]: cells for cells in ([text(c) for c in elements(row)] for row in parsed(report).css("#d5 tbody tr"))
    }
    revision = rows["Revise the stitch-density standard"]
    assert revision[:2] == ["2", "Standard revision"]
    assert "Standard reissued to the line" in revision[6]
    assert "Document: SOP-SEW-12 · revision C" in revision[6] and "SOP-SEW-12-rev-C.pdf" in revision[6]
    training = rows["Retrain the button-machine operators"]
    assert training[1] == "Retraining" and training[3] == "sup.li" and training[5].startswith("sup.li · ")
    assert "Trained: Zhang Wei, Liu Yang" in training[6] and "training-record.jpg" in training[6]
    d5 = one(report, "#d5")
    files = {a.attributes["href"]: text(a) for a in d5.css("ul.files a")}
    assert files == {closed.revision_file: "SOP-SEW-12-rev-C.pdf", closed.training_file: "training-record.jpg"}
    assert image_sources(d5) == [(closed.training_file, "training-record.jpg")]  # a photo, not the PDF


def test_the_report_shows_the_results_with_limit_and_verdict(report):
    [row] = [[text(c) for c in elements(r)] for r in parsed(report).css("#d6 tbody tr")]
    assert row[1].startswith("CN-ATT-GT6") and row[2] == "95"
    assert row[3].startswith("≥") and row[4].startswith("pass: ")
    assert row[5] == "SGS SGS-26-0042"


def test_the_report_shows_the_closing_and_the_effectiveness_review(closed, report):
    d8 = one(report, "#d8")
    assert text(elements(d8)[1]).startswith("Closed ") and EFFECTIVENESS in text(d8) and "qm.wang" in text(d8)
    assert "closing-audit.pdf" in texts(d8, "ul.files li")
    review = one(d8, ".effectiveness")
    facts = dict(zip(texts(review, "dt"), texts(review, "dd"), strict=True))
    assert facts["Verdict"] == "Not effective"
    assert facts["Recurred"] == "yes"
    assert facts["Reviewed"] == f"qm.wang · {closed.effectiveness_reviewed}"
    assert facts["Note"] == REVIEW_NOTE
    assert facts["Follow-ups"].startswith(f"{closed.follow_up} Follow-up of {closed.number}")
    assert facts["Due"]


def test_the_report_prints_with_a_button_not_a_javascript_link(closed, report):
    assert not [href for href in texts(report, "a") if href.startswith("javascript:")]
    assert all(not a.attributes["href"].startswith("javascript:") for a in parsed(report).css("a[href]"))
    button = one(report, "button[data-print]")
    assert button.attributes.get("type") == "button" and "onclick" not in button.attributes
    assert one(report, 'script[src="/static/report.js"]').attributes.get("src") == "/static/report.js"
    assert not [s for s in parsed(report).css("script") if "src" not in s.attributes]
    assert one(report, f'a[href="/nc/{closed.number}/report.pdf"]')


def test_the_report_names_the_nc_at_the_top_of_every_printed_page(closed, report):
    # A stylesheet of its own, not an inline <style>: the pages' Content-Security-Policy allows no inline style.
    href = f"/nc/{closed.number}/report-head.css"
    assert one(report, f'head link[rel="stylesheet"][href="{href}"]')
    assert not parsed(report).css("style")
    head = closed.qm.get(href)
    assert head.status_code == 200 and head.mimetype == "text/css"
    assert head.text == f'@page {{ @top-left {{ content: "8D report · {closed.number}"; }} }}\n'
    assert closed.zh.get(href).text == f'@page {{ @top-left {{ content: "8D 报告 · {closed.number}"; }} }}\n'


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("8D report · NC-2026-00001", '"8D report · NC-2026-00001"'),
        ("8D 报告 · NC-2026-00001", '"8D 报告 · NC-2026-00001"'),
        ('a"b', '"a\\22 b"'),
        ("</style><script>", '"\\3c \\2f style\\3e \\3c script\\3e "'),
        ("back\\slash (x) y\nline", '"back\\5c slash \\28 x\\29  yline"'),
    ],
)
def test_the_running_head_is_a_css_string_that_cannot_end_its_style(value, written):
    assert str(css_string(value)) == written


def test_the_report_reads_in_chinese_for_a_chinese_reader(closed):
    response = closed.zh.get(f"/nc/{closed.number}/report")
    assert response.status_code == 200
    assert one(response.text, "html").attributes["lang"] == "zh-Hans-CN"
    headings = texts(response.text, "main > section > h2")
    assert headings[:3] == ["D1 · 小组", "D2 · 问题描述", "D3 · 围堵措施"]
    assert "D4 · 根本原因" in headings and "D8 · 关闭与有效性验证" in headings


def test_the_nc_page_links_to_the_pdf(closed):
    page = closed.qm.get(f"/nc/{closed.number}").text
    assert one(page, f'.heading a[href="/nc/{closed.number}/report.pdf"]')


# The PDF ----------------------------------------------------------------------------------------------------


@needs_pdf
def test_the_pdf_downloads_as_a_pdf_named_after_the_nc(closed, pdf):
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"] == f"attachment; filename=8D-{closed.number}.pdf"
    assert pdf.data.startswith(b"%PDF")


@needs_pdf
def test_the_pdf_holds_the_report_text(closed, pdf):
    content = pdf_text(pdf)
    assert closed.number in content
    assert "qm.wang" in content and "sup.li" in content
    assert "Round 1 · Returned with a question" in content and REVIEW_NOTE in content


@needs_pdf
def test_every_page_of_the_pdf_names_the_nc_at_its_top(closed, pdf):
    pages = [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf.data)).pages]
    assert len(pages) > 1
    assert all(f"8D report · {closed.number}" in page for page in pages)


@needs_pdf
def test_the_pdf_embeds_the_photos_shrunk_for_print(pdf):
    images = [image for page in PdfReader(io.BytesIO(pdf.data)).pages for image in page.images]
    sizes = sorted(image.image.size for image in images)
    assert (PRINT_PIXELS, PRINT_PIXELS * 3 // 4) in sizes  # the 2000 x 1500 photo of the defect, shrunk
    assert (640, 480) in sizes  # the photo of the training record, small enough as it is


@needs_pdf
def test_the_pdf_reads_in_chinese_for_a_chinese_reader(closed, pdf_zh):
    assert pdf_zh.status_code == 200
    content = pdf_text(pdf_zh)
    assert closed.number in content
    assert "问题描述" in content and "根本原因" in content
    assert "qm.wang" in content


def test_the_pdf_reads_only_the_apps_own_files(closed, module_app):
    with module_app.test_request_context(base_url="http://localhost/"):
        own = OwnFiles("http://localhost/", {closed.photo: lambda: (b"photo", "image/jpeg")})
        assert own.read(f"http://localhost{closed.photo}") == (b"photo", "image/jpeg")
        assert own.read("http://localhost/static/report.css")[1] == "text/css"
        for refused in (
            "http://example.com/static/report.css",
            "https://localhost/static/report.css",
            "file:///etc/passwd",
            "http://localhost/static/../../../etc/passwd",
            "http://localhost/static/%2e%2e/%2e%2e/etc/passwd",
            "http://localhost/static/no-such.css",
            f"http://localhost/nc/{closed.number}/photos/999999",
            f"http://localhost/nc/{closed.number}/report",
            "data:image/png;base64,iVBORw0KGgo=",
        ):
            with pytest.raises(Refused):
                own.read(refused)


def test_a_server_without_pdf_rendering_says_so(closed, monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as on a server where WeasyPrint cannot be imported
    response = closed.qm.get(f"/nc/{closed.number}/report.pdf")
    assert response.status_code == 503
    assert "cannot make PDFs" in text(response.text)


# Who may read it --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["report", "report.pdf"])
def test_an_anonymous_visitor_is_sent_to_log_in(closed, module_app, suffix):
    response = module_app.test_client().get(f"/nc/{closed.number}/{suffix}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("suffix", ["report", "report.pdf"])
def test_an_unknown_nc_is_404(closed, suffix):
    response = closed.qm.get(f"/nc/NC-2000-99999/{suffix}")
    assert response.status_code == 404
    assert not response.data.startswith(b"%PDF")


# Reading it at once -----------------------------------------------------------------------------------------


def capa_with(n: int, qm, sup) -> str:
    """A CAPA in verification with ``n`` of each row its report reads: photos, holds (each with ``n``
    dispositions), root-cause rounds (``n - 1`` returned), actions (each with ``n`` evidence files), retests."""
    flow = Workflow(qm, sup)
    number = flow.file()
    photos.add_photos(lookup.get_nc(number), [Upload(f"p{i}.jpg", jpeg(64, 48)) for i in range(n)], sup)
    held = ["B-1", "SN-1"][:n]
    steps.contain(
        lookup.get_nc(number),
        parse(Contain, {"description": CONTAINMENT, "hold": held, "quantities": dict.fromkeys(held, 10)}),
        qm,
    )
    for _ in range(n - 1):
        flow.submit(number)
        flow.review(number, "return", RETURN_COMMENT)
    flow.submit(number)
    flow.review(number)
    due = (plant_today() + timedelta(days=7)).isoformat()
    for i in range(n):
        steps.add_action(
            lookup.get_nc(number),
            parse(NewAction, {"kind": "corrective", "description": f"Fix {i}", "owner": sup.username, "due_date": due}),
            qm,
        )
    for action in list(lookup.get_nc(number).actions):
        files = [Upload(f"e{i}.jpg", jpeg(64, 48)) for i in range(n)]
        steps.complete_action(action, parse(CompleteAction, {"evidence": "Done", "files": files}), sup)
    for _ in range(n):
        flow.retest(number)
    for hold in lookup.get_nc(number).holds:
        for _ in range(n):
            command = parse(
                Dispose, {"password": PASSWORD, "kind": "scrap", "quantity": 10 // n, "reason": "Snaps torn"}
            )
            dispositions.dispose(lookup.get_nc(number), hold.id, command, qm)
    return number


def test_the_report_takes_as_many_queries_with_more_rounds_actions_holds_and_photos(app, make_user):
    """The report reads everything at once: more of each row does not add a query."""
    make_factory()
    qm, sup = make_user("quality_manager", "qm.wang"), make_user("supervisor", "sup.li")
    client = logged_in(app, qm)
    one_each, two_each = capa_with(1, qm, sup), capa_with(2, qm, sup)
    assert queries_of(client, f"/nc/{one_each}/report") == queries_of(client, f"/nc/{two_each}/report")


def queries_of(client, path: str) -> int:
    statements = []

    def count(*_args) -> None:
        statements.append(1)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)
