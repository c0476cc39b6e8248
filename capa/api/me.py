from flask import jsonify

from capa.accounts.guard import request_user
from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp


@bp.get("/me")
@requires(Permission.VIEW)
def me():
    user = request_user()
    return jsonify({"username": user.username, "role": user.role})
