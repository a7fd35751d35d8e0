# The clinic page with the chat widget (scripts/ops/web_page.py): PyYAML and the widget bundle
# only. Run `make web` first, so web/node_modules holds the pinned rasa-webchat bundle the
# page serves (never a CDN). Build from the project root:
#   docker build -f deploy/docker/page.Dockerfile -t clinic-page .
# BASE_IMAGE: Docker's official Python 3.10 on Debian 12, or the same layout made here with no
# registry at all (`make images`: debootstrap, then podman import; scripts/ops/images.py).
ARG BASE_IMAGE=docker.io/library/python:3.10-slim-bookworm
FROM ${BASE_IMAGE}

# PIP_CERT: a CA bundle for a proxy that inspects TLS, at build time only (make images passes
# the host's); unset, pip trusts its own bundle.
ARG PIP_CERT

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WEB_INTERFACE=0.0.0.0

WORKDIR /app

# The page's one dependency, at the version of the lock.
COPY requirements.lock ./
RUN grep -i '^PyYAML==' requirements.lock > page-requirements.txt \
    && pip install --no-cache-dir -r page-requirements.txt

RUN groupadd --system --gid 10001 page \
    && useradd --system --uid 10001 --gid page --no-create-home --shell /usr/sbin/nologin page

COPY clinic/__init__.py clinic/clinic_config.py clinic/data_files.py clinic/
COPY scripts/__init__.py scripts/
COPY scripts/ops/__init__.py scripts/ops/web_page.py scripts/ops/
COPY knowledge/clinic_config.yml knowledge/
COPY web/index.html web/
COPY web/static/ web/static/
COPY web/node_modules/rasa-webchat/lib/index.js web/node_modules/rasa-webchat/lib/

USER 10001:10001
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/', timeout=4)"]

# RASA_PUBLIC_URL: where browsers reach the assistant (the widget's socket URL).
CMD ["sh", "-c", "exec python -m scripts.ops.web_page --port 8080 --socket-url \"$RASA_PUBLIC_URL\""]
