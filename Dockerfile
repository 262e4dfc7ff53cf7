# feedwatch's image. Build: docker build -t feedwatch .
# Run with Docker Compose (see docker-compose.yml) or on its own:
#   docker run -e FEEDWATCH_TELEGRAM_TOKEN=... -v "$PWD/config:/app/config:ro" feedwatch
#   docker run --rm feedwatch demo
# The build stage installs exactly what uv.lock pins, with the uv that requirements-uv.txt pins by
# hash; the runtime stage gets the finished virtual environment and the config, nothing else.

FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /app
COPY requirements-uv.txt ./
RUN pip install --require-hashes --no-deps -r requirements-uv.txt

# The dependencies first, from the lock alone, so that a change to the code reuses this layer.
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-dev --no-install-project

# Then feedwatch itself, installed into the environment (not as a link to /app/bot).
COPY README.md LICENSE ./
COPY bot ./bot
RUN uv sync --locked --no-dev --no-editable


FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/app/.venv/bin:$PATH \
    FEEDWATCH_CONFIG=/app/config/feedwatch.toml

COPY --from=build /app/.venv /app/.venv
# A default config baked into the image; docker-compose.yml mounts ./config over it read-only.
# `feedwatch demo` finds its sample feeds beside FEEDWATCH_CONFIG.
COPY config /app/config

# Run as an unprivileged user. /data is its working directory, so a relative SQLite URL
# (sqlite:///feedwatch.db) has somewhere writable to live.
RUN groupadd --system --gid 10001 feedwatch \
    && useradd --system --uid 10001 --gid feedwatch --home-dir /data --no-create-home feedwatch \
    && mkdir -p /data \
    && chown feedwatch:feedwatch /data
USER feedwatch
WORKDIR /data
VOLUME ["/data"]

# 8443: webhook mode ([telegram] webhook_listen). /metrics and /healthz listen on 127.0.0.1:9108
# ([metrics] listen), inside the container, where this check asks; it fails on a 503.
EXPOSE 8443
HEALTHCHECK --interval=1m --timeout=15s --start-period=1m --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9108/healthz', timeout=10)"]

ENTRYPOINT ["feedwatch"]
CMD ["run"]
