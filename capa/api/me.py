from flask import jsonify

from capa.accounts.permissions import Permission, requires
from capa.api.blueprint import bp
from capa.http.guard import request_user


@bp.get("/me")
@requires(Permission.VIEW)
def me():
    user = request_user()
    return jsonify({"username": user.username, "role": user.role})
