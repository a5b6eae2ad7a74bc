# SkyPanel production image: gunicorn + whitenoise; the same image runs the web, worker and sweep.
# Build: docker build -t skypanel .    Run: see docker-compose.yml
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --create-home --uid 10001 skypanel

# gettext's msgfmt compiles the translations at build time (compilemessages below).
RUN apt-get update && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*

COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .
# Static files are collected at build time with throwaway secrets (nothing is stored or signed).
RUN DEBUG=false \
    SECRET_KEY=build-only-not-a-secret-build-only-not-a-secret \
    HUBSPOT_ENCRYPTION_KEYS=MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA= \
    python manage.py collectstatic --noinput \
    && python manage.py compilemessages \
    && mkdir -p var/metrics && chown -R skypanel:skypanel var

USER skypanel
ENV PORT=8000 DEBUG=false
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os,socket;socket.create_connection(('127.0.0.1', int(os.environ.get('PORT','8000'))), 4)" || exit 1
CMD ["gunicorn", "-c", "gunicorn.conf.py", "skypanel.wsgi"]
