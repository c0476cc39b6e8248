"""Configuration in layers: these defaults, then ``instance/config.py``, then the environment, then the
mapping given to :func:`capa.create_app` (tests).

Names are the environment variables' own, so that the README's table, ``instance/config.py`` and the
environment all speak of the same ``CAPA_TIMEZONE``.
"""

import os
import secrets
import time
from pathlib import Path
from typing import Any

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # default: SQLite file capa.sqlite3 in the instance folder
    "SECRET_KEY": None,  # default: generated once into the instance folder
    "CAPA_ADMIN_PASSWORD": None,
    "CAPA_TIMEZONE": "Asia/Shanghai",
    "CAPA_LANGUAGES": "en,zh_Hans_CN",
    # The language of mails to addresses that are not a user's (empty: the first of CAPA_LANGUAGES).
    "CAPA_MAIL_LANGUAGE": "",
    # werkzeug's password hashing method; the default is deliberately slow to guess against.
    "CAPA_PASSWORD_HASH": "scrypt",
    # Passwords and failed log-ins: the rules are in capa/accounts/passwords.py and capa/accounts/login_limits.py.
    "CAPA_PASSWORD_MIN_LENGTH": 10,
    "CAPA_LOGIN_LIMIT_PER_ACCOUNT": "10 per 15 minutes",
    "CAPA_LOGIN_LIMIT_PER_ADDRESS": "20 per 15 minutes",
    # Where the failed log-ins are counted: per process, or e.g. redis://localhost:6379 for several workers.
    "CAPA_RATELIMIT_STORAGE_URI": "memory://",
    # Upper bound for any request body; uploads are the largest thing a browser sends.
    "MAX_CONTENT_LENGTH": 50 * 1024 * 1024,
    # One photo of a defect; phones take 3–6 MB pictures.
    "CAPA_PHOTO_MAX_BYTES": 8 * 1024 * 1024,
    # A lab report's PDF, as received.
    "CAPA_REPORT_PDF_MAX_BYTES": 20 * 1024 * 1024,
    # One evidence file of an action or of the closing (a revised standard's PDF, a training record's XLSX, a photo).
    "CAPA_EVIDENCE_MAX_BYTES": 20 * 1024 * 1024,
    # How many NCs a CSV or XLSX download reads from the database at a time (capa.capas.queries.exported).
    "CAPA_EXPORT_CHUNK": 1000,
    # The NC list page counts the matching NCs up to this many, and says "more than" beyond (capa.capas.paging).
    "CAPA_EXACT_COUNT_LIMIT": 10_000,
    # How long a lab report counts for coverage, in months, per parameter kind: "chemical=12,physical=12".
    # A kind not listed is valid for 12 months.
    "CAPA_REPORT_VALIDITY_MONTHS": "",
    # JSON bodies sent to the API are small; anything larger is refused with 413.
    "CAPA_API_MAX_BODY": 1024 * 1024,
    # The address people reach the app at, for links in mails.
    "CAPA_BASE_URL": "http://127.0.0.1:5000",
    # Weekly summaries: when they are built (cron, plant time) and where they are mailed.
    "CAPA_SUMMARY_CRON": "0 6 * * mon",
    "CAPA_REMINDER_CRON": "0 7 * * *",
    "CAPA_SMTP_HOST": None,
    "CAPA_SMTP_PORT": 25,
    "CAPA_SMTP_USER": None,
    "CAPA_SMTP_PASSWORD": None,
    "CAPA_SMTP_STARTTLS": False,
    "CAPA_MAIL_FROM": "capa@localhost",
    "CAPA_SUMMARY_RECIPIENTS": "",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # Flask-Login's remember-me cookie, should a login ever set one: as guarded as the session cookie (its Secure
    # flag follows SESSION_COOKIE_SECURE unless set itself).
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    # The number of reverse proxies in front of the app whose X-Forwarded-* headers are believed (capa.http.headers).
    "CAPA_PROXY_FIX": 0,
    # A web worker moves what it holds after its first request out of the garbage collector's sight (capa.http.heap).
    "CAPA_FREEZE_HEAP": True,
    # When on, the quality manager who submitted a root cause may not approve it: another one signs the approval.
    "CAPA_SEPARATE_ROOT_CAUSE_APPROVER": False,
    # The responsible authority's leave for reduced final inspection (ISO 2859-1, 9.3.3 c): without it the switching
    # score never takes a line's lots to reduced inspection (capa.inspections.final).
    "CAPA_REDUCED_INSPECTION_ALLOWED": False,
    # The plant's shifts, covering the day once (capa.inspections.dhu): a line's inline and end-of-line checks are
    # summed per shift.
    "CAPA_SHIFTS": "day=07:00-19:00,night=19:00-07:00",
    # Defects per hundred units above which a line is alerted in a shift, unless the line has its own level.
    "CAPA_DHU_ALERT_LEVEL": "5",
    # The units a line's checks at a stage must sum to in a shift before its DHU alerts: one small check with one
    # defect would otherwise read as a DHU of 20 or more.
    "CAPA_DHU_MIN_UNITS": 20,
    # The plant's metal detectors, by code, checked with a test piece at the start of each shift.
    "CAPA_METAL_DETECTORS": "MD-1",
    # Supplier scorecards (capa.suppliers.settings): the points each part can take off 100, what each failed safety
    # result takes off (up to the safety weight), and each grade's lowest score with the approval it suggests.
    "CAPA_SCORECARD_WEIGHTS": "incoming=25,lab=15,safety=30,ncs=15,scars=15",
    "CAPA_SCORECARD_SAFETY_FAILURE_POINTS": 15,
    "CAPA_SCORECARD_GRADES": "A=90:approved,B=75:approved,C=60:conditional,D=0:suspended",
    # Where stored files lie (capa.common.files): empty for <instance>/uploads, or s3://bucket[/prefix] for an
    # S3-compatible object store reached with the CAPA_S3_* settings (or boto3's AWS_* variables when unset).
    "CAPA_STORAGE_URL": "",
    "CAPA_S3_ENDPOINT_URL": "",
    "CAPA_S3_ACCESS_KEY_ID": "",
    "CAPA_S3_SECRET_ACCESS_KEY": "",
    "CAPA_S3_REGION": "",
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    "WTF_CSRF_TIME_LIMIT": None,  # a form left open over a shift still saves
}

# Settings read from the environment, with how to turn the text into a value.
ENVIRONMENT: dict[str, type] = {
    "DATABASE_URL": str,
    "SECRET_KEY": str,
    "CAPA_ADMIN_PASSWORD": str,
    "CAPA_PASSWORD_MIN_LENGTH": int,
    "CAPA_LOGIN_LIMIT_PER_ACCOUNT": str,
    "CAPA_LOGIN_LIMIT_PER_ADDRESS": str,
    "CAPA_RATELIMIT_STORAGE_URI": str,
    "CAPA_TIMEZONE": str,
    "CAPA_LANGUAGES": str,
    "CAPA_MAIL_LANGUAGE": str,
    "MAX_CONTENT_LENGTH": int,
    "CAPA_API_MAX_BODY": int,
    "CAPA_PHOTO_MAX_BYTES": int,
    "CAPA_REPORT_PDF_MAX_BYTES": int,
    "CAPA_EVIDENCE_MAX_BYTES": int,
    "CAPA_EXPORT_CHUNK": int,
    "CAPA_EXACT_COUNT_LIMIT": int,
    "CAPA_REPORT_VALIDITY_MONTHS": str,
    "SESSION_COOKIE_SECURE": bool,
    "REMEMBER_COOKIE_SECURE": bool,
    "CAPA_PROXY_FIX": int,
    "CAPA_BASE_URL": str,
    "CAPA_SUMMARY_CRON": str,
    "CAPA_REMINDER_CRON": str,
    "CAPA_SMTP_HOST": str,
    "CAPA_SMTP_PORT": int,
    "CAPA_SMTP_USER": str,
    "CAPA_SMTP_PASSWORD": str,
    "CAPA_SMTP_STARTTLS": bool,
    "CAPA_MAIL_FROM": str,
    "CAPA_SUMMARY_RECIPIENTS": str,
    "CAPA_SEPARATE_ROOT_CAUSE_APPROVER": bool,
    "CAPA_REDUCED_INSPECTION_ALLOWED": bool,
    "CAPA_SHIFTS": str,
    "CAPA_DHU_ALERT_LEVEL": str,
    "CAPA_DHU_MIN_UNITS": int,
    "CAPA_METAL_DETECTORS": str,
    "CAPA_SCORECARD_WEIGHTS": str,
    "CAPA_SCORECARD_SAFETY_FAILURE_POINTS": int,
    "CAPA_SCORECARD_GRADES": str,
    "CAPA_STORAGE_URL": str,
    "CAPA_S3_ENDPOINT_URL": str,
    "CAPA_S3_ACCESS_KEY_ID": str,
    "CAPA_S3_SECRET_ACCESS_KEY": str,
    "CAPA_S3_REGION": str,
}


def instance_path(config: dict[str, Any] | None) -> Path:
    chosen = (config or {}).get("CAPA_INSTANCE_PATH") or os.environ.get("CAPA_INSTANCE_PATH")
    return Path(chosen).resolve() if chosen else PROJECT_ROOT / "instance"


def _from_environment() -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, kind in ENVIRONMENT.items():
        raw = os.environ.get(name)
        if raw is None or raw == "":
            continue
        if kind is bool:
            values[name] = raw.strip().lower() in {"1", "true", "yes", "on"}
        elif kind is int:
            values[name] = int(raw)
        else:
            values[name] = raw
    return values


def _secret_key(instance: Path) -> str:
    """The key kept in the instance folder, created with owner-only permissions on first start."""
    path = instance / "secret_key"
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process starting at the same moment wrote it first
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
    for _ in range(50):  # the other process may still be writing it
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.02)
    return path.read_text().strip()


def load(app: Flask, overrides: dict[str, Any] | None) -> None:
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_mapping(_from_environment())
    app.config.from_mapping(overrides or {})

    instance = Path(app.instance_path)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'capa.sqlite3'}"
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _secret_key(instance)
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    if app.config["DATABASE_URL"].startswith("postgresql"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_pre_ping": True,
            **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
        }
    app.config["UPLOAD_FOLDER"] = str(instance / "uploads")
    app.config.setdefault("REMEMBER_COOKIE_SECURE", app.config.get("SESSION_COOKIE_SECURE", False))
