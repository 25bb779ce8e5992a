FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md alembic.ini Procfile ./
COPY services ./services
COPY gateway ./gateway
COPY intake ./intake
COPY routing ./routing
COPY notifications ./notifications
COPY migrations ./migrations
RUN pip install --no-cache-dir . && useradd --system --home /app aduan \
    && mkdir -p /app/var/media && chown -R aduan /app/var
USER aduan
EXPOSE 8000 8001 8002 8003
CMD ["aduan", "serve", "gateway"]
