"""OpenSLO v1 (https://openslo.com) in and out, pure conversion without I/O: ``read`` turns
OpenSLO documents (SLO, SLI, AlertPolicy, AlertCondition, Service) into native SLO bodies,
refusing every field it cannot map with the path of that field, and ``write`` turns one SLO
into an SLO document and its AlertPolicies, keeping what OpenSLO has no field for in
slo-service's ``slo-service.io/...`` annotations (``common``), so that a written SLO reads back
the same. Callers import the modules (``read``, ``write``, ``common``); this package exports
nothing.
"""
