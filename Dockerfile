# Slim production image: gunicorn serving the registry, static files by WhiteNoise.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY portfolio ./portfolio
COPY registry ./registry
COPY fixtures ./fixtures
COPY manage.py ./
RUN pip install . \
    && DJANGO_DEBUG=false DJANGO_SECRET_KEY=build-only DATABASE_URL=postgres://build@localhost/build \
       python manage.py collectstatic --no-input \
    && useradd --create-home --uid 10001 registry \
    && chown -R registry /app
USER registry

EXPOSE 8000
CMD ["sh", "-c", "gunicorn portfolio.wsgi:application --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-3} --access-logfile -"]
