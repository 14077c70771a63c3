# The Python layer under every hive-resilience image: Python 3.11 in /opt/venv, the host's
# extra CA certificates (outbound TLS may be re-signed by a local CA) and the non-root user
# `hive`. BASE_IMAGE is python:3.11-slim where a registry is reachable; offline it is the
# Debian base that `hive-resilience images build` makes with debootstrap (no Python yet).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV LANG=C.UTF-8 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN set -eu; \
    if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null \
       || ! command -v update-ca-certificates >/dev/null; then \
        apt-get update -qq; \
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            python3 python3-venv ca-certificates >/dev/null; \
        rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin; \
    fi

COPY extra-ca-certificates/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null \
    && python3 -m venv /opt/venv \
    && useradd --uid 10001 --user-group --create-home --home-dir /home/hive --shell /usr/sbin/nologin hive

ENV PATH=/opt/venv/bin:$PATH
