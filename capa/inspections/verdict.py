"""The verdict of a final inspection by attributes: plain Python.

The rules:
- any critical defect found rejects the lot, whatever the AQLs (a critical class has no acceptance number);
- otherwise the lot is accepted when the defects of each class with an AQL (major, minor) are at most that
  class's acceptance number Ac, and rejected when any class reaches its rejection number Re;
- each class is counted in its own plan's sample (the plans of two AQLs may differ in sample size): the units
  inspected are the largest of the samples, and a class's count is of the defects found in its own sample;
- a carton or packing check that failed (wrong carton marks, assortment or quantity, damaged cartons, polybags
  without their warning) rejects the lot whatever its defect counts: such a lot cannot ship as packed.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from capa.inspections.models import DefectClass, PackingCheck
from capa.inspections.sampling import SamplingPlan


@dataclass(frozen=True)
class ClassVerdict:
    """One class's count against its plan."""

    defect_class: DefectClass
    found: int
    #: The class's plan; None for critical defects (none is accepted).
    plan: SamplingPlan | None

    @property
    def accept(self) -> int:
        return self.plan.accept if self.plan is not None else 0

    @property
    def reject(self) -> int:
        return self.plan.reject if self.plan is not None else 1

    @property
    def passed(self) -> bool:
        return self.found <= self.accept


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    classes: tuple[ClassVerdict, ...]
    #: The packing checks that failed, in the order of PackingCheck.
    packing_failed: tuple[PackingCheck, ...] = ()

    @property
    def failed_classes(self) -> list[DefectClass]:
        return [verdict.defect_class for verdict in self.classes if not verdict.passed]

    @property
    def reason(self) -> str:
        """Why, in the reader's language: the classes over their limits, or that every class is within them."""
        if self.accepted:
            return str(_l("Every class is within its acceptance number."))
        parts = []
        for verdict in self.classes:
            if verdict.passed:
                continue
            if verdict.defect_class == DefectClass.CRITICAL:
                parts.append(str(_l("%(found)d critical defects: any critical defect rejects.", found=verdict.found)))
            else:
                parts.append(
                    str(
                        _l(
                            "%(found)d %(class)s defects, at or above Re %(reject)d.",
                            found=verdict.found,
                            reject=verdict.reject,
                            **{"class": CLASS_WORDS[verdict.defect_class]},
                        )
                    )
                )
        if self.packing_failed:
            failed = ", ".join(str(PACKING_WORDS[check]) for check in self.packing_failed)
            parts.append(str(_l("Packing checks failed: %(checks)s.", checks=failed)))
        return " ".join(parts)


PACKING_WORDS = {
    PackingCheck.CARTON_MARKS: _l("carton marks"),
    PackingCheck.ASSORTMENT: _l("assortment"),
    PackingCheck.QUANTITY: _l("quantity per carton"),
    PackingCheck.CARTON_CONDITION: _l("carton condition"),
    PackingCheck.POLYBAGS: _l("polybags and folding"),
}

CLASS_WORDS = {DefectClass.MAJOR: _l("major"), DefectClass.MINOR: _l("minor"), DefectClass.CRITICAL: _l("critical")}


def judge_lot(
    found: Mapping[DefectClass, int],
    plans: Mapping[DefectClass, SamplingPlan],
    packing_failed: Iterable[PackingCheck] = (),
) -> Verdict:
    """The verdict on a lot from the defects ``found`` per class, each AQL class's plan and the packing checks that
    failed (module rules). Raises ValueError for a negative count or a plan given for the critical class."""
    if any(count < 0 for count in found.values()):
        raise ValueError("a count of defects is never negative")
    if DefectClass.CRITICAL in plans:
        raise ValueError("critical defects have no plan: any one rejects")
    classes = (
        ClassVerdict(DefectClass.CRITICAL, found.get(DefectClass.CRITICAL, 0), None),
        *(ClassVerdict(cls, found.get(cls, 0), plans[cls]) for cls in (DefectClass.MAJOR, DefectClass.MINOR)),
    )
    failed = tuple(check for check in PackingCheck if check in set(packing_failed))
    return Verdict(all(verdict.passed for verdict in classes) and not failed, classes, failed)
