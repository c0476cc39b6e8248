"""Which language a request is answered in."""

from flask import current_app, has_request_context, request, session
from flask_login import current_user


def offered_languages() -> list[str]:
    return [code.strip() for code in current_app.config["CAPA_LANGUAGES"].split(",") if code.strip()]


def _offered(tag: str, offered: list[str]) -> str | None:
    """The offered language a browser's tag means: ``zh``, ``zh-CN``, ``zh-Hans``, ``zh-Hans-CN`` are
    Simplified Chinese; ``zh-Hant``, ``zh-TW`` and ``zh-HK`` are not (traditional script)."""
    parts = tag.replace("_", "-").lower().split("-")
    for code in offered:
        mine = code.replace("_", "-").lower().split("-")
        if parts[0] != mine[0]:
            continue
        if parts[0] == "zh" and ({"hant", "tw", "hk", "mo"} & set(parts[1:])):
            continue
        return code
    return None


def select_locale() -> str:
    """The language of the pages: the one chosen in this session (by the switch, or on the login page before
    logging in), else the one remembered on the user's account (the switch of a logged-in user remembers it), else
    the best of the browser's Accept-Language, else the first offered one."""
    offered = offered_languages()
    if not has_request_context():  # the CLI and the scheduler speak the first language
        return offered[0]
    user = current_user if current_user and current_user.is_authenticated else None
    # The session holds a language only when it was chosen in it (the switch, or the login page just before
    # logging in: capa.web.accounts.views.login), so it comes before the account's.
    for chosen in (session.get("language"), getattr(user, "language", None)):
        if chosen in offered:
            return chosen
    for tag, _quality in request.accept_languages:
        match = _offered(tag, offered)
        if match is not None:
            return match
    return offered[0]
