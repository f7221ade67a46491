"""The demo: ``seed`` fills an empty database with a model that has an SLO of each ML kind
(``serve --demo``); ``simulation`` and ``exporter`` serve simulated ml_* metrics of two models
with incidents (``slo-service demo-exporter``, for the docker-compose stack)."""
