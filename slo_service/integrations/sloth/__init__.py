"""Sloth (https://sloth.dev) SLO specs in: its ``prometheus/v1`` file and its Kubernetes
``PrometheusServiceLevel`` resource (``apiVersion: sloth.slok.dev/v1``), converted to native SLO
bodies without I/O. ``read`` is the entry point; ``queries`` reads Sloth's PromQL as series
selectors, ``alerting`` maps the alerting block, ``fields`` reads scalars and collects every
problem. Callers import the modules; this package exports nothing.
"""
