"""What the document register takes: a new document, and a new revision with its file."""

from capa.accounts.signing import SigningPassword
from capa.common.commands import Choice, Code, Command, Day, Integer, Text
from capa.documents.models import DocumentKind


class NewDocument(Command):
    #: The document's code as the quality manual names it ("QP-07").
    code: Code()
    title: Text(200)
    #: procedure, work_instruction, standard, policy, form.
    kind: Choice(DocumentKind)
    #: Months between periodic reviews (12 unless given).
    review_months: Integer(required=False, minimum=1, maximum=120) = None


class NewRevision(Command):
    """A revision of a document: it takes effect once a quality manager other than its author approves it."""

    #: As the document names it ("4", "B"): each once per document.
    revision: Code(20)
    #: What changed from the revision before.
    changes: Text(4000)
    #: The day it is in effect from (``YYYY-MM-DD``), once approved. Its file (a PDF) comes beside the command.
    effective_on: Day()


class PeriodicReview(Command):
    """A periodic review that confirms the current revision unchanged."""

    #: What the review checked ("Checked against GB 31701-2015 and the buyer's manual; no change needed").
    note: Text(2000)


class RevisionApproval(Command):
    """The approval of a revision, signed electronically."""

    #: The approver's password, re-entered to sign the approval.
    password: SigningPassword = None
