# slo-service: the API, the SLA pages and the evaluator (`slo-service serve`); the same image
# runs `slo-service worker`, `migrate`, `apply` and the docker-compose demo's `demo-exporter`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# What building the wheel reads: the project metadata, its readme, the package, and the
# migrations and page templates the wheel carries inside the package.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY slo_service ./slo_service
COPY migrations ./migrations
COPY web ./web
RUN pip install . \
    && rm -rf /src \
    && useradd --system --uid 10001 --user-group --create-home --home-dir /home/slo slo

# Not root; the default SQLite file (without SLO_DATABASE_URL) lands in its home.
USER 10001:10001
WORKDIR /home/slo

EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["slo-service", "serve", "--host", "0.0.0.0"]
