from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from capa.common.types import UTCDateTime, one_of, utcnow
from capa.extensions import db


class Role(StrEnum):
    SUPERVISOR = "supervisor"
    QUALITY_MANAGER = "quality_manager"
    ADMIN = "admin"
    #: Someone at a supplier, bound to that supplier (``users.supplier_id``): sees and answers only the corrective
    #: action requests sent to it (capa.suppliers.scars), nothing of the factory's records besides.
    SUPPLIER = "supplier"


#: The factory's own people: every role but the supplier's.
STAFF = frozenset({Role.SUPERVISOR, Role.QUALITY_MANAGER, Role.ADMIN})


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        one_of("role", Role),
        # A supplier's account is bound to its supplier, and only a supplier's account is.
        CheckConstraint("(role = 'supplier') = (supplier_id IS NOT NULL)", name="supplier_bound"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Login name, stored lower-case so that "Admin" and "admin" are one account.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    #: The person's full name, shown with their electronic signatures; empty until given.
    full_name: Mapped[str] = mapped_column(String(120), default="", server_default="")
    #: Where reminders of overdue actions are sent; optional.
    email: Mapped[str | None] = mapped_column(String(200))
    #: The language the user chose for the pages (a code of CAPA_LANGUAGES); None: the browser's.
    language: Mapped[str | None] = mapped_column(String(16))
    #: A deactivated account can no longer log in or use its tokens; its records keep its name.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Raised to end every session of the user at once (logout, a new password): a session cookie names the
    #: generation it was opened in, and one of an earlier generation no longer logs anybody in.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: The supplier a supplier's account speaks for (by the table's name: suppliers are master data, a layer
    #: above accounts, which only keeps the binding).
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), index=True)

    tokens: Mapped[list["ApiToken"]] = relationship(back_populates="user")

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """What a session (and a remember-me cookie) stores: the user and the session generation it was opened
        in (see :func:`capa.accounts.service.user_of_session`)."""
        return f"{self.id}:{self.session_generation}"

    def __repr__(self) -> str:
        return f"<User {self.username} ({self.role})>"


class ApiToken(db.Model):
    """A bearer token for the JSON API. Only its SHA-256 digest is stored; the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The first characters of the token, so a person can tell tokens apart without seeing them whole.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")
