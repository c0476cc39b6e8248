"""Who the token belongs to: for a client checking its credentials."""

from capa.accounts.models import Role
from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp
from capa.api.models import Record
from capa.http.guard import request_user


class Me(Record):
    username: str
    role: Role


@bp.get("/me")
@requires(Permission.ANY_ACCOUNT)
@bp.output(Me)
def me():
    return request_user()
