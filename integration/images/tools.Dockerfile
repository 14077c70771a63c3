# The aden-tools MCP server over streamable HTTP (`/mcp`, `GET /health`) as a non-root
# container. Tools may only touch files under ~/.hive, so the workspace is the declared
# volume /home/hive. Configuration by environment: PORT, BIND_HOST.
ARG RUNTIME_IMAGE
FROM ${RUNTIME_IMAGE}

COPY hive_resilience/ /opt/hive-resilience/hive_resilience/
ENV PYTHONPATH=/opt/hive-resilience \
    HOME=/home/hive \
    BIND_HOST=127.0.0.1 \
    PORT=4001
USER hive
WORKDIR /home/hive
RUN mkdir -p /home/hive/.hive
VOLUME /home/hive
HEALTHCHECK --interval=2s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-m", "hive_resilience.target.container_entry", "health", "tools"]
ENTRYPOINT ["python3", "-m", "hive_resilience.target.container_entry", "serve", "tools"]
