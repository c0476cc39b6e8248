"""Accounts of people at a supplier: bound to their supplier, found here by its code (accounts keep the binding)."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from capa.accounts import service as accounts
from capa.accounts.commands import NewUser
from capa.accounts.models import User
from capa.common.errors import ValidationError
from capa.extensions import db
from capa.masterdata import service as masterdata
from capa.masterdata.models import Supplier


def create_account(command: NewUser, supplier_code: str | None, actor: User | None = None) -> User:
    """Create the account of ``command``; a supplier's account is bound to the supplier of ``supplier_code``.
    Raises ValidationError naming ``supplier`` for an unknown code, and what
    :func:`capa.accounts.service.create_user` raises."""
    supplier = None
    if supplier_code:
        supplier = masterdata.find_supplier(supplier_code)
        if supplier is None:
            raise ValidationError(
                str(_l("Please correct the fields marked.")),
                fields={"supplier": str(_l("No supplier with the code %(code)s.", code=supplier_code))},
            )
    return accounts.create_user(command, actor, supplier=supplier)


def supplier_of(user: User) -> Supplier | None:
    """The supplier a supplier's account speaks for; None for the factory's own people."""
    if user.supplier_id is None:
        return None
    return db.session.get(Supplier, user.supplier_id)


def accounts_of(supplier: Supplier) -> list[User]:
    """The active accounts of people at ``supplier``, by name."""
    query = select(User).where(User.supplier_id == supplier.id, User.active.is_(True)).order_by(User.username)
    return list(db.session.scalars(query))
