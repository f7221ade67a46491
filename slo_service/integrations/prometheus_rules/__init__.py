"""Prometheus rules for SLOs, named the way Sloth names them (``slo-service rules export``).

Every alerting setting comes from ``domain.alert_settings.effective``: the SLO's own
``alerting`` over its service policy's (``rules export`` passes it), over the defaults. So the
tiers are the user's (each keeping its windows) or the SRE workbook's scaled to the SLO's
window (``month`` counts 30d and ``week`` 7d), rounded to whole minutes.

Per SLO, two rule groups:

- ``slo-service-<service>-<name>-sli-recordings``: the error ratio over each window,
  ``slo:sli_error:ratio_rate<W>`` for 5m 30m 1h 2h 6h 1d 3d, the windows of the SLO's tiers (if
  it alerts) and its own window (a 7d SLO's default tiers add 1m 7m 14m 28m 84m 336m 1008m);
  for occurrence SLIs (ratio, latency) the events of each tier's short window,
  ``slo:sli_events:count<W>`` (``sum(increase(TOTAL[W]))``); and the meta recordings
  ``slo:objective:ratio``, ``slo:error_budget:ratio`` (1 - objective) and
  ``slo:time_period:days``. They carry
  ``slo_id``, ``slo_service``, ``slo_name``, the SLO's own labels, and on the windowed ones
  ``slo_window``: the window, like Sloth's ``sloth_window``. A window is written in the
  largest of d, h, m that states it exactly (``336m``, not ``5h36m``).
- ``slo-service-<service>-<name>-alerts``, Sloth's layout: at most two ``SLOBurnRate`` alerts,
  one labelled ``severity: page`` whose expression is the ``or`` of the page tiers'
  conditions, one ``severity: ticket`` of the ticket tiers' (a severity without tiers has no
  rule); and an ``SLONoData`` ticket. All are labelled ``slo_service`` and ``slo_name`` (and
  carry ``slo_id`` and the SLO's labels), for Alertmanager to route, group and inhibit on: one
  alert name with labels, rather than Sloth's per-SLO names, so one route and one inhibit rule
  (a page holds back the same SLO's burn ticket) serve every SLO. An SLO with alerting disabled
  has no alerts group.

Drift-store and pushed SLIs are not in Prometheus: they are skipped, with the reason.

The label names above are the default (``native``); ``rules export --labels sloth`` writes
Sloth's instead (``sloth_id``, ``sloth_service``, ``sloth_slo``, ``sloth_window``, and
``sloth_severity`` on the burn alerts) and adds Sloth's own recordings to the recordings group
(``slo:current_burn_rate:ratio``, ``slo:period_burn_rate:ratio``,
``slo:period_error_budget_remaining:ratio``, ``sloth_slo_info``), so that Sloth's Grafana
dashboards show the SLOs.

Modules: ``promql`` (an SLI's error ratio and events in PromQL), ``labels`` (the two label
sets), ``recordings``, ``sloth`` (Sloth's extra recordings), ``alerts`` (the tiers'
conditions and the no-data ticket), ``build`` (an SLO's groups, every SLO's by service) and
``files`` (a rule file's text).
"""
