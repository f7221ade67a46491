"""The deploy gate and the error-budget policy: each service's gate state kept up to date
(``state``), the answer rendered for CI (``answers``), a short-lived per-process copy of what
it reads (``cache``), and service policies, freezes and overrides set by hand (``policy``)."""
