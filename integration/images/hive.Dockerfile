# The Hive API server (`hive serve`) as a non-root container. HOME and HIVE_HOME are on the
# declared volume /home/hive: Hive keeps its sessions, conversations and credential key
# there, so a container replaced by a new one keeps them only when that volume is kept.
# Configuration by environment: PORT, BIND_HOST, LLM_URL (an OpenAI-compatible endpoint,
# written into $HIVE_HOME/configuration.json at start, exactly as the embedded target does).
ARG RUNTIME_IMAGE
FROM ${RUNTIME_IMAGE}

COPY hive_resilience/ /opt/hive-resilience/hive_resilience/
ENV PYTHONPATH=/opt/hive-resilience \
    HOME=/home/hive \
    HIVE_HOME=/home/hive/.hive \
    LITELLM_LOCAL_MODEL_COST_MAP=True \
    BIND_HOST=127.0.0.1 \
    PORT=8787
USER hive
WORKDIR /home/hive
RUN mkdir -p /home/hive/.hive
VOLUME /home/hive
HEALTHCHECK --interval=2s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python3", "-m", "hive_resilience.target.container_entry", "health", "hive-api"]
ENTRYPOINT ["python3", "-m", "hive_resilience.target.container_entry", "serve", "hive-api"]
