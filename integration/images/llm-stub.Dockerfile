# The OpenAI-compatible LLM stub with its fault admin API, as a non-root container.
# Configuration by environment: PORT, BIND_HOST.
ARG RUNTIME_IMAGE
FROM ${RUNTIME_IMAGE}

COPY hive_resilience/ /opt/hive-resilience/hive_resilience/
ENV PYTHONPATH=/opt/hive-resilience \
    HOME=/home/hive \
    BIND_HOST=127.0.0.1 \
    PORT=8790
USER hive
WORKDIR /home/hive
HEALTHCHECK --interval=2s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-m", "hive_resilience.target.container_entry", "health", "llm-stub"]
ENTRYPOINT ["python3", "-m", "hive_resilience.target.container_entry", "serve", "llm-stub"]
