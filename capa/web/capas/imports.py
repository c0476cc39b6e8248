"""The page that takes in non-conformances from a factory's earlier spreadsheets (rules: :mod:`capa.capas.importing`),
for quality managers and administrators.

Uploading keeps the file for its sender in the app's file storage (:class:`capa.capas.importing.ImportJob`, through
:mod:`capa.common.pending`; never the session), which every web host shares, so that any of them serves the next
step. The file's page shows the first rows with what each column is taken as (a
choice per column, detected from its header), and what importing it would do: every problem by row, column and
reason, the NCs imported before. Choosing other columns checks again. Importing runs in a thread of the web
process, which tells the job how far it is; the page polls ``/imports/ncs/<token>/progress`` (``imports.js``, a
static script: the pages allow nothing inline) and shows the result when it is done. Without JavaScript the page
offers a link to look again. The rows an import left out (``skip_invalid``) can be downloaded as a CSV file to
correct.
"""

import io
import threading
from contextlib import nullcontext
from types import SimpleNamespace

from flask import current_app, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField

from capa.accounts.models import User
from capa.accounts.permissions import Permission, requires
from capa.capas import importing
from capa.common.errors import NotFound, ValidationError
from capa.extensions import db
from capa.web.capas.views import bp

#: Where the app keeps the threads importing files (by job token), so that they can be waited for.
THREADS = "capa.import_threads"
#: The problems a preview lists (their number is said beside).
SHOWN_PROBLEMS = 200
#: A job's states, for the page to tell them apart.
JOB_STATES = SimpleNamespace(
    PREVIEWED=importing.PREVIEWED, RUNNING=importing.RUNNING, FINISHED=importing.FINISHED, FAILED=importing.FAILED
)
#: How far an import is, by stage, with the rows done and their total.
STAGE_LABELS = {
    importing.CHECKING: _l("Checking rows: %(done)s of %(total)s"),
    importing.STORING: _l("Storing NCs: %(done)s of %(total)s"),
}


class UploadForm(FlaskForm):
    file = FileField(_l("The spreadsheet (CSV or XLSX)"))


@bp.route("/imports/ncs", methods=["GET", "POST"])
@requires(Permission.IMPORT_NCS)
def import_ncs():
    """Upload a spreadsheet of earlier NCs: kept, then previewed on its own page."""
    form = UploadForm()
    if not form.is_submitted():
        return render_template("capas/import.html", form=form, job=None)
    upload = form.file.data
    data = upload.read() if upload and getattr(upload, "filename", "") else b""
    problem = None if data else _("Choose the spreadsheet (CSV or XLSX).")
    if problem is None:
        try:
            importing.read_sheet(data)
        except ValidationError as refusal:
            problem = refusal.message
    if problem is not None:
        form.file.errors = [problem]
        return render_template("capas/import.html", form=form, job=None), 400
    job = importing.new_job(data, _shown_name(upload.filename), current_user)
    return redirect(url_for(".import_job", token=job.token), 303)


def _shown_name(filename: str) -> str:
    """The file's name as sent, without any folder, for display only."""
    return filename.replace("\\", "/").rsplit("/", 1)[-1].strip()[:200] or "import.csv"


@bp.route("/imports/ncs/<token>", methods=["GET", "POST"])
@requires(Permission.IMPORT_NCS)
def import_job(token: str):
    """The file's page: its preview and column choices, then its import's progress and result."""
    job = importing.load_job(token, current_user)
    if request.method == "POST":
        return _choose(job)
    if job.state != importing.PREVIEWED:
        return render_template("capas/import.html", **_shown(job))
    preview = importing.preview(importing.job_data(job), job.filename, current_user, columns=job.columns)
    errors = [(error.row, error.column, error.reason) for error in preview.outcome.errors[:SHOWN_PROBLEMS]]
    return render_template("capas/import.html", **_shown(job), preview=preview, shown_errors=errors)


def _shown(job: importing.ImportJob) -> dict:
    """What the file's page shows of its job, whatever its state."""
    return {
        "job": job,
        "form": None,
        "fields": [("", _("— not imported —")), *((name, label) for name, label in importing.FIELD_LABELS.items())],
        "job_states": JOB_STATES,
        "stage_labels": STAGE_LABELS,
    }


def _choose(job: importing.ImportJob):
    """Take the columns chosen; check again, or start the import."""
    if job.state == importing.RUNNING and not job.stalled:
        flash(_("This file is being imported already."), "info")
        return redirect(url_for(".import_job", token=job.token), 303)
    if job.state == importing.FINISHED:
        flash(_("This file was imported already: upload it again to import it anew."), "info")
        return redirect(url_for(".import_job", token=job.token), 303)
    columns = {}
    for name, value in request.form.items():
        if name.startswith("column-") and name.removeprefix("column-").isdigit() and value in importing.COLUMNS:
            columns[int(name.removeprefix("column-"))] = value
    if any(name.startswith("column-") for name in request.form):
        job.columns = columns
    job.skip_invalid = request.form.get("skip_invalid") in ("y", "true", "1", "on")
    job.state, job.message, job.summary = importing.PREVIEWED, "", {}
    if request.form.get("action") == "import":
        job.state, job.stage, job.done, job.total = importing.RUNNING, "", 0, 0
        importing.save_job(job)
        _start(job)
    else:
        importing.save_job(job)
    return redirect(url_for(".import_job", token=job.token), 303)


def _start(job: importing.ImportJob) -> None:
    """Import the job's file in a thread of its own, in the language of the person who started it."""
    app = current_app._get_current_object()
    threads = app.extensions.setdefault(THREADS, {})
    for token in [token for token, thread in threads.items() if not thread.is_alive()]:
        del threads[token]
    locale = str(get_locale() or "")
    thread = threading.Thread(
        target=_run, args=(app, job, current_user.id, locale), name=f"import-{job.token}", daemon=True
    )
    threads[job.token] = thread
    thread.start()


def _run(app, job: importing.ImportJob, actor_id: int, locale: str) -> None:
    with app.app_context():
        try:
            with force_locale(locale) if locale else nullcontext():
                actor = db.session.get(User, actor_id)
                importing.run_job(job, actor)
        except Exception:  # the job says it failed; the trace is for the administrator
            app.logger.exception("The import of %s failed", job.filename)
        finally:
            db.session.remove()


def wait_for_import(app, token: str, timeout: float | None = None) -> None:
    """Wait for the import of job ``token`` started in this process, if any, to finish."""
    thread = app.extensions.get(THREADS, {}).get(token)
    if thread is not None:
        thread.join(timeout)


@bp.route("/imports/ncs/<token>/progress")
@requires(Permission.IMPORT_NCS)
def import_progress(token: str):
    """How far the import is, for the page's script: ``{state, stage, done, total, message}``."""
    try:
        job = importing.load_job(token, current_user)
    except NotFound as missing:
        return jsonify(state="unknown", message=missing.message), 404
    state = "stalled" if job.stalled else job.state
    return jsonify(state=state, stage=job.stage, done=job.done, total=job.total, message=job.message)


@bp.route("/imports/ncs/<token>/rejected.csv")
@requires(Permission.IMPORT_NCS)
def import_rejects(token: str):
    """The rows the import left out, with their problems, as a CSV file to correct and import again."""
    job = importing.load_job(token, current_user)
    stem = job.filename.rsplit(".", 1)[0] or "import"
    response = send_file(
        io.BytesIO(importing.job_rejects(job)),
        mimetype="text/csv",
        as_attachment=True,
        download_name=f"{stem}.rejected.csv",
    )
    response.headers["Cache-Control"] = "private, no-cache"
    return response
