# Serving image: ONNX Runtime on CPU, no torch.
#   docker build -t gaikan .
#   docker run -p 8000:8000 -v $PWD/gaikan.toml:/etc/gaikan/gaikan.toml -v gaikan-data:/var/lib/gaikan gaikan
# The settings file must set host = "0.0.0.0" and api_keys (the service refuses a non-loopback
# address without keys). For the demo line: docker run --network host gaikan gaikan demo
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN useradd --system --create-home --home-dir /var/lib/gaikan gaikan
WORKDIR /opt/gaikan
COPY pyproject.toml README.md ./
COPY camera camera
COPY models models
COPY service service
RUN pip install '.[cpu,postgres]'

USER gaikan
WORKDIR /var/lib/gaikan
ENV GAIKAN_CONFIG=/etc/gaikan/gaikan.toml GAIKAN_DATA_DIR=/var/lib/gaikan
EXPOSE 8000
CMD ["gaikan", "serve"]
