"""The words of a summary in its reader's language: how the keys of each breakdown are shown, and the
charts' titles and axes. Used by the summary's page, its downloads, its charts and its mail."""

from flask_babel import lazy_gettext as _l

from capa.capas import lookup
from capa.capas.labels import SOURCE_LABELS
from capa.common.display import local_name
from capa.safety import service as safety

#: Each chart's title.
CHART_TITLES = {
    "trend": _l("New, closed and open NCs per week"),
    "pareto": _l("New NCs by defect type (Pareto)"),
    "parameters": _l("New NCs by safety parameter"),
}

#: The age buckets of open CAPAs (see capa.trends.figures.AGING).
AGE_LABELS = {
    "0-7": _l("0 to 7 days"),
    "8-30": _l("8 to 30 days"),
    "31-90": _l("31 to 90 days"),
    "over_90": _l("over 90 days"),
}

#: The counts of effectiveness reviews in a week (see capa.trends.figures).
EFFECTIVENESS_LABELS = {
    "due": _l("reviews fell due this week"),
    "done": _l("reviews done this week"),
    "failed": _l("found not effective"),
    "outstanding": _l("due by Sunday and still not done"),
}

#: Each kind of alert, where a summary says how many of them it lists (see capa.trends.figures.ALERT_KINDS).
ALERT_LABELS = {
    "rising_defect_type": _l("Defect types on the rise"),
    "rising_line": _l("Lines on the rise"),
    "rising_parameter": _l("Safety parameters on the rise"),
    "safety_critical_open": _l("Safety-critical NCs still open"),
    "long_hold": _l("Goods held for more than 14 days"),
}


def key_labels() -> dict[str, dict[str, str]]:
    """How the keys of each breakdown are shown in the reader's language: defect types and sources by name,
    safety parameters by code and name, other codes as they are."""
    parameters = {p.code: f"{p.code} {local_name(p)}" for p in safety.list_parameters()}
    return {
        "by_defect_type": {t.code: local_name(t) for t in lookup.list_defect_types()},
        "by_source": {str(source): str(label) for source, label in SOURCE_LABELS.items()},
        "by_parameter": parameters,
        "failed_results": parameters,
        "near_limit_results": parameters,
        "aging": {key: str(label) for key, label in AGE_LABELS.items()},
        "effectiveness": {key: str(label) for key, label in EFFECTIVENESS_LABELS.items()},
        "alerts": {key: str(label) for key, label in ALERT_LABELS.items()},
    }
