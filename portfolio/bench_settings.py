"""Settings for `make bench`: production settings plus the benchmark's baseline endpoints.

Production-like (DEBUG off, so Django keeps no query log), with throttling off (the load
generator is one client) and plain HTTP on loopback.
"""

from portfolio.settings import *  # noqa: F403
from portfolio.settings import MIDDLEWARE, env

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="bench-only-secret-key-not-for-production")  # noqa: S105
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
REGISTRY_THROTTLE_USER = ""
ROOT_URLCONF = "bench.urls"
MIDDLEWARE = ["bench.middleware.QueryCountHeaderMiddleware", *MIDDLEWARE]
# Plain static files: the admin pages render without running collectstatic first.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
