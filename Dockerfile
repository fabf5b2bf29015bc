# eventmesh daemon: every emulated AWS service on one port (4566).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY eventmesh ./eventmesh
COPY configs ./configs
# boto3 comes with eventmesh, as the Lambda Python runtime gives it to every handler.
RUN pip install . && useradd --create-home --uid 10001 eventmesh
USER eventmesh

EXPOSE 4566
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:4566/_eventmesh/health', timeout=2).status == 200 else 1)"
# Inside a container the daemon must listen on all interfaces to be reachable through the port map.
CMD ["eventmesh", "serve", "--config", "configs/default.yaml", "--host", "0.0.0.0", "--port", "4566"]
