"""Electronic signatures on the NC page and in the 8D report (the rules: :mod:`capa.capas.signatures`).

The signing step forms (the review of a root cause, each disposition, the release of a hold, the closing, the
effectiveness review) carry a password field (:func:`capa.web.capas.forms.password_field`): the browser fills it
as the current password, and it is never sent back filled, so a refused form keeps everything typed but the
password. The templates read each signature beside the step it signs, and all of them in a section of their own,
through :func:`signature_helpers` (``templates/capas/_signatures.html``).
"""

from flask_login import current_user

from capa.capas import rounds, signatures
from capa.capas.labels import SIGNATURE_MEANING_LABELS
from capa.capas.models import NonConformance
from capa.web.capas.views import bp


def _may_approve(nc: NonConformance) -> bool:
    """Whether the person reading the page may approve the root cause under review (CAPA_SEPARATE_ROOT_CAUSE_APPROVER
    keeps the approval from its submitter)."""
    return signatures.may_approve(rounds.latest_round(nc), current_user)


@bp.app_context_processor
def signature_helpers() -> dict:
    return {
        "signature_meaning_labels": SIGNATURE_MEANING_LABELS,
        "signatures_placed": signatures.placed,
        "may_approve_root_cause": _may_approve,
    }
