"""The Prometheus text format (version 0.0.4), written by hand for the SLO gauges of
``/metrics``: at 10,000 SLOs prometheus_client's ``generate_latest`` spends seconds on its
160,000 samples (a sample object, label-name checks and a sort per line), while these lines
are known in advance.

Each helper writes what ``generate_latest`` writes, byte for byte: label values escaped as
the format requires (backslash, newline, double quote), numbers as ``floatToGoString`` writes
them, and the HELP and TYPE lines of a family. Label names are not checked here: the callers
write fixed ones, in name order (as ``generate_latest`` sorts them).
"""

from prometheus_client.utils import floatToGoString

# Below this magnitude ``floatToGoString`` is ``repr`` (it switches to Go's exponent form
# only for positive numbers from 1e6 on, and spells infinities and NaN its own way).
_PLAIN = 1e6


def label_value(value: str) -> str:
    """``value`` escaped to stand between the double quotes of a label."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def number(value: float) -> str:
    """A sample's value as prometheus_client writes it (``floatToGoString``)."""
    value = float(value)
    if -_PLAIN < value < _PLAIN:  # false for NaN and the infinities
        return repr(value)
    written: str = floatToGoString(value)  # type: ignore[no-untyped-call]
    return written


def header(name: str, documentation: str, kind: str = "gauge") -> str:
    """The HELP and TYPE lines that open a family of samples."""
    escaped = documentation.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {name} {escaped}\n# TYPE {name} {kind}\n"


class LabelValues(dict[str, str]):
    """Label values escaped, each distinct one once (``escaped[value]``): at 10,000 SLOs the
    same kinds, windows and tiers come back on most of 160,000 lines."""

    def __missing__(self, value: str) -> str:
        escaped = self[value] = label_value(value)
        return escaped
