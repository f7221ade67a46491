"""Burn-rate and no-data alerts: following each evaluation (``follow``), delivering the outbox
(``delivery``), and notification routes (``routes``)."""
