# Slim production image: gunicorn serving the registry (static files by WhiteNoise), and the
# webhook worker from the same image.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY portfolio ./portfolio
COPY registry ./registry
COPY fixtures ./fixtures
COPY manage.py ./
# The versions every test ran against: constraints.txt pins them, as `make` installs them.
# The German catalogue is compiled here (the .mo is not committed), in pure Python.
RUN pip install -c constraints.txt . \
    && DJANGO_DEBUG=false DJANGO_SECRET_KEY=build-only DATABASE_URL=postgres://build@localhost/build \
       python manage.py collectstatic --no-input \
    && DJANGO_DEBUG=false DJANGO_SECRET_KEY=build-only DATABASE_URL=postgres://build@localhost/build \
       python manage.py compile_translations \
    && useradd --create-home --uid 10001 registry \
    && chown -R registry /app
USER registry

EXPOSE 8000
# The web process; the worker runs the same image with `python manage.py run_worker`.
# Requests are logged as JSON by the app itself, so gunicorn keeps no access log. With
# PROMETHEUS_MULTIPROC_DIR set, the metrics folder starts empty on every start.
CMD ["sh", "-c", "if [ -n \"$PROMETHEUS_MULTIPROC_DIR\" ]; then rm -rf \"$PROMETHEUS_MULTIPROC_DIR\" && mkdir -p \"$PROMETHEUS_MULTIPROC_DIR\"; fi; exec gunicorn portfolio.wsgi:application --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-3}"]
