# The Python packages shared by the Hive, tools and LLM stub images: the real Hive and
# aden-tools at the versions pyproject.toml pins (passed in as build arguments, so the pin
# lives in one place), resolved against constraints.txt so pip never backtracks.
# `[tools]` matters: with `[server]` alone Hive's bundled tool servers cannot import
# aden_tools and every new session waits ~10 s on retries.
ARG PYTHON_IMAGE
FROM ${PYTHON_IMAGE}
ARG HIVE_VERSION
ARG TOOLS_VERSION

COPY constraints.txt /opt/hive-resilience/constraints.txt
RUN set -eu; \
    test -n "${HIVE_VERSION}" -a -n "${TOOLS_VERSION}" \
      || { echo "pass --build-arg HIVE_VERSION=... --build-arg TOOLS_VERSION=... (see pyproject.toml)" >&2; exit 1; }; \
    pip install -q -c /opt/hive-resilience/constraints.txt \
        "aden-hive[server,tools]==${HIVE_VERSION}" "aden-tools[sql,excel]==${TOOLS_VERSION}" mcp; \
    find /opt/venv -name __pycache__ -prune -exec rm -rf {} +
