# Serving image, CPU: ONNX Runtime, no torch, installed from the gaikan wheel by
# deploy/docker/install.sh (the script CI runs in a clean venv, tests/test_deploy_install.py).
# Runs as a non-root user and writes only to /var/lib/gaikan (the data volume) and /tmp, so it
# runs with a read-only root filesystem:
#   docker build -t gaikan .
#   docker run -d --name gaikan --read-only --tmpfs /tmp -p 8000:8000 \
#     -v $PWD/gaikan.toml:/etc/gaikan/gaikan.toml:ro -v gaikan-data:/var/lib/gaikan gaikan
# The settings file must set host = "0.0.0.0" and api_keys (the service refuses a non-loopback
# address without keys). GPU image: deploy/docker/Dockerfile.gpu. Whole stack: deploy/compose.yaml.
FROM python:3.11-slim AS wheel
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY camera camera
COPY models models
COPY service service
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
COPY --from=wheel /wheels /tmp/wheels
COPY deploy/docker/install.sh /tmp/install.sh
RUN python -m venv /opt/gaikan/venv \
    && PYTHON=/opt/gaikan/venv/bin/python sh /tmp/install.sh cpu /tmp/wheels \
    && rm -rf /tmp/wheels /tmp/install.sh \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/gaikan --no-create-home gaikan \
    && mkdir -p /var/lib/gaikan /etc/gaikan && chown gaikan:gaikan /var/lib/gaikan

ENV PATH=/opt/gaikan/venv/bin:$PATH HOME=/tmp \
    GAIKAN_CONFIG=/etc/gaikan/gaikan.toml GAIKAN_DATA_DIR=/var/lib/gaikan
USER gaikan
WORKDIR /var/lib/gaikan
VOLUME /var/lib/gaikan
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('GAIKAN_PORT', '8000'), timeout=4)"
CMD ["gaikan", "serve"]
