"""Notification channels of burn-rate alerts and freezes: Slack, PagerDuty, a JSON webhook."""
