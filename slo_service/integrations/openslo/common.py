"""What the OpenSLO reader and writer share: the apiVersion, slo-service's own annotations
(``slo-service.io/...``), the op names, the calendar durations and how a duration is written.

Both directions use these, so a document ``write`` produces is one ``read`` takes back.
"""

API_VERSION = "openslo/v1"
PREFIX = "slo-service.io/"
KIND_ANNOTATION = PREFIX + "kind"
PARAMS_ANNOTATION = PREFIX + "params"
SLI_TYPE_ANNOTATION = PREFIX + "sli-type"
NO_DATA_ANNOTATION = PREFIX + "no-data"
GATE_ANNOTATION = PREFIX + "gate"
ALERTING_ANNOTATION = PREFIX + "alerting"
MIN_EVENTS_ANNOTATION = PREFIX + "alerting-min-events"
NO_DATA_FOR_ANNOTATION = PREFIX + "alerting-no-data-for"
# On an AlertCondition: the short window of the tier it makes (lookbackWindow / 12 without it).
SHORT_WINDOW_ANNOTATION = PREFIX + "short-window"
ANNOTATIONS = (
    KIND_ANNOTATION,
    PARAMS_ANNOTATION,
    SLI_TYPE_ANNOTATION,
    NO_DATA_ANNOTATION,
    GATE_ANNOTATION,
    ALERTING_ANNOTATION,
    MIN_EVENTS_ANNOTATION,
    NO_DATA_FOR_ANNOTATION,
)

# SLO_BUCKET_SECONDS by default: one OpenSLO time slice, when the settings give no other.
DEFAULT_BUCKET_SECONDS = 60
CALENDAR_DURATIONS = {"1M": "month", "1w": "week"}
# Any first of a month that is also a Monday: the start of a month and of a week.
CALENDAR_START = "2024-01-01 00:00:00"
OPS = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
OPENSLO_OPS = {native: name for name, native in OPS.items()}
# The units slo-service writes an OpenSLO duration in (domain.windows.format_duration): seconds
# for a time slice under a minute, and days rather than weeks, so a 28d window reads as 28d.
DURATION_UNITS = "dhms"
