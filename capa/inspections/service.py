"""The inspection services: typed commands in, the rules of :mod:`capa.inspections.sampling` applied."""

from capa.inspections.commands import SamplingPlanQuery
from capa.inspections.sampling import Level, SamplingPlan, Severity, sampling_plan


def plan_for(query: SamplingPlanQuery) -> SamplingPlan:
    """The ISO 2859-1 single sampling plan for the lot ``query`` describes: level II and normal inspection
    unless it says otherwise. Raises what :func:`capa.inspections.sampling.sampling_plan` raises."""
    return sampling_plan(
        query.lot_size, query.aql, level=query.level or Level.II, severity=query.severity or Severity.NORMAL
    )
