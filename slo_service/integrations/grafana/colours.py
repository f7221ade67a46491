"""The colour steps of the panels: which values show green, amber (orange) or red.

A ``Steps`` is a base colour and ``(value, colour)`` marks; ``panels.thresholds`` turns it into
Grafana's thresholds. The dashboards share these scales, so a budget, a drift or an age has
the same colours on every dashboard.
"""

# Grafana colours a value with the highest step at or below it; the gate's boundaries are
# inclusive the other way (spent when remaining <= 0, at risk when <= 0.25), so the steps sit
# just above them.
_ABOVE = 1e-9

Steps = tuple[str, tuple[tuple[float, str], ...]]


def steps(base: str, *marks: tuple[float, str]) -> Steps:
    """``base`` under the first mark, then each mark's colour from its value up."""
    return base, marks


BUDGET = steps("red", (_ABOVE, "orange"), (0.25 + _ABOVE, "green"))
COMPLIANCE = steps("red", (0.9, "orange"), (1.0, "green"))
AVAILABILITY = steps("red", (0.99, "orange"), (0.999, "green"))
ERROR_RATE = steps("green", (0.001, "orange"), (0.01, "red"))
LATENCY = steps("green", (0.5, "orange"), (1.0, "red"))
TRAFFIC = steps("red", (0.001, "green"))  # no traffic at all is an outage too
BURN_RATE = steps("green", (6.0, "orange"), (14.4, "red"))  # the page tiers at 30 days
ACCURACY_STEPS = steps("red", (0.8, "orange"), (0.9, "green"))
DRIFT = steps("green", (0.1, "orange"), (0.2, "red"))  # PSI: stable, moderate, significant
FEATURE_AGE = steps("green", (900.0, "orange"), (1800.0, "red"))  # data_freshness: 30 min
MODEL_AGE = steps("green", (7 * 86400.0, "orange"), (30 * 86400.0, "red"))
EVALUATION_AGE = steps("green", (600.0, "orange"), (3600.0, "red"))
LATEST = steps("red", (1.0, "green"))
NONE_BAD = steps("green", (1.0, "red"))  # counts where any is bad
NONE_RISKY = steps("green", (1.0, "orange"))
NEUTRAL = steps("blue")
