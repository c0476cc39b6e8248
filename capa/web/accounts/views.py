from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user

from capa.accounts import passwords, service
from capa.accounts.commands import NewUser, UserChanges
from capa.accounts.login_limits import TooManyAttempts
from capa.accounts.models import User
from capa.accounts.permissions import Permission, public, requires
from capa.audit import records
from capa.common.errors import DomainError
from capa.extensions import login_manager
from capa.http.locale import offered_languages
from capa.masterdata import service as masterdata
from capa.suppliers import accounts as supplier_accounts
from capa.web.accounts.forms import ROLE_LABELS, LoginForm, UserCreateForm, UserEditForm
from capa.web.forms import command_from, record_options, show_errors

bp = Blueprint("accounts", __name__)


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    return service.user_of_session(session_id)


def _safe_next(target: str | None) -> str:
    """``target`` when it is a plain local path, else the home page: an open redirect after login is a
    phishing tool. Browsers drop tabs and newlines from URLs, so any white space or control character
    (which could turn ``/\t/evil`` into ``//evil``) makes the target unsafe too."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("home.index")
    if any(character.isspace() or ord(character) < 32 or ord(character) == 127 for character in target):
        return url_for("home.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for("home.index")
    return target


#: Set in the session when its language was chosen by a visitor not logged in: the one who logs in next on that
#: page chose it, for the session the login opens.
CHOSEN_BEFORE_LOGIN = "language_chosen_before_login"


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = service.log_in(form.username.data, form.password.data, get_remote_address())
        except TooManyAttempts as refusal:
            # The same page, the name kept, the reason beside the password; Retry-After for scripts and proxies.
            form.password.errors.append(refusal.message)
            response = make_response(render_template("accounts/login.html", form=form), 429)
            response.headers["Retry-After"] = str(refusal.retry_after)
            return response
        if user is not None:
            # A new session at login: nothing planted in the session before (a CSRF token, say) carries over.
            language = _chosen_on_the_login_page(form)
            session.clear()
            # A language chosen on the login page by whoever logs in holds for their session, over their account's;
            # one left in the browser by someone who logged out is dropped: the account's (or the browser's) decides.
            if language:
                session["language"] = language
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append(_("Unknown user name or wrong password."))
    if form.language.data not in offered_languages():
        form.language.data = session.get("language", "") if session.get(CHOSEN_BEFORE_LOGIN) else ""
    return render_template("accounts/login.html", form=form), 200 if not form.errors else 400


def _chosen_on_the_login_page(form: LoginForm) -> str | None:
    """The language chosen on the login page before logging in: the one the page was shown in, as its form says,
    else the session's (the session's cookie may have been set back by a late answer to a request made before the
    last choice, so the form comes first); None when none was chosen there."""
    if form.language.data in offered_languages():
        return form.language.data
    if session.get(CHOSEN_BEFORE_LOGIN) and session.get("language") in offered_languages():
        return session["language"]
    return None


@bp.route("/logout", methods=["POST"])
@public
def logout():
    if current_user.is_authenticated:
        # Every session of this user ends, not only this browser's: a copied cookie is worthless afterwards.
        service.end_sessions(current_user._get_current_object())
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("accounts.login"))


#: Each offered language, named in itself.
LANGUAGE_NAMES = {"en": "English", "zh_Hans_CN": "简体中文"}


@bp.app_context_processor
def languages():
    return {
        "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in offered_languages()],
        "current_language": str(get_locale() or ""),
    }


@bp.route("/language", methods=["POST"])
@public
def choose_language():
    """Switch the pages' language: remembered on the account of a logged-in user, else for this browser."""
    language = request.form.get("language", "")
    if language not in offered_languages():
        abort(400, description=_("Unknown language."))
    session["language"] = language
    if current_user.is_authenticated:
        service.set_language(current_user, language)
        session.pop(CHOSEN_BEFORE_LOGIN, None)
    else:
        session[CHOSEN_BEFORE_LOGIN] = True
    return redirect(_safe_next(request.form.get("next") or _referring_path()))


def _referring_path() -> str | None:
    """The page the switch was used on (path and query of the Referer), to show it again in the new language."""
    if not request.referrer:
        return None
    parts = urlsplit(request.referrer)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


@bp.route("/users")
@requires(Permission.MANAGE_USERS)
def users():
    supplier_codes = {supplier.id: supplier.code for supplier in masterdata.list_suppliers()}
    return render_template(
        "accounts/users.html", users=service.list_users(), role_labels=ROLE_LABELS, supplier_codes=supplier_codes
    )


@bp.route("/users/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def user_new():
    form = UserCreateForm()
    form.supplier.choices = record_options(masterdata.list_suppliers())
    if form.validate_on_submit():
        try:
            user = supplier_accounts.create_account(command_from(form, NewUser), form.supplier.data, current_user)
        except DomainError as exc:
            show_errors(form, exc)
        else:
            flash(_("User %(name)s created.", name=user.username), "success")
            return redirect(url_for("accounts.users"))
    hint = _(
        "Use %(n)d or more characters; a common password, or one containing the user name, is refused.",
        n=passwords.min_length(),
    )
    return (
        render_template("accounts/user_form.html", form=form, user=None, password_hint=hint),
        200 if not form.errors else 400,
    )


@bp.route("/users/<username>", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def user_edit(username: str):
    user = service.get_user(username)
    form = UserEditForm(obj=user)
    if form.validate_on_submit():
        try:
            service.update_user(user, command_from(form, UserChanges), current_user)
        except DomainError as exc:
            show_errors(form, exc)
        else:
            flash(_("User %(name)s saved.", name=user.username), "success")
            return redirect(url_for("accounts.users"))
    user_history = records.history_of("user", user.id)
    return (
        render_template(
            "accounts/user_form.html",
            form=form,
            user=user,
            user_history=user_history,
            tampered=records.tampering("user", user.id),
        ),
        200 if not form.errors else 400,
    )
