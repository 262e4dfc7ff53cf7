# feedwatch bot image. Build: docker build -t feedwatch .
# Run with Docker Compose (see docker-compose.yml) or on its own:
#   docker run -e FEEDWATCH_TELEGRAM_TOKEN=... -v "$PWD/config:/app/config:ro" feedwatch
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Install the dependencies and the package before copying the config, so a config edit does not
# rebuild the layer that installs them. pyproject.toml names README.md as the readme, so it must be
# present here.
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install . \
    && rm -rf /app/build /app/*.egg-info

# A default config baked into the image; docker-compose.yml mounts ./config over it read-only.
COPY config ./config

# Run as an unprivileged user. /data is its working directory, so a relative SQLite URL
# (sqlite:///feedwatch.db) has somewhere writable to live.
RUN groupadd --system --gid 10001 feedwatch \
    && useradd --system --uid 10001 --gid feedwatch --home-dir /data --no-create-home feedwatch \
    && mkdir -p /data \
    && chown feedwatch:feedwatch /data
USER feedwatch
WORKDIR /data
VOLUME ["/data"]

ENTRYPOINT ["feedwatch"]
CMD ["run", "--config", "/app/config/feedwatch.toml"]
