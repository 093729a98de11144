"""Settings for the AI-CX Portfolio Registry: one module, every variation from the environment."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from portfolio.db import database_url

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A git-ignored .env fills in what the environment leaves unset (`make setup` writes one for
# local development when there is none). DJANGO_ENV_FILE names another file; empty reads none.
ENV_FILE = os.environ.get("DJANGO_ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE:
    environ.Env.read_env(ENV_FILE, overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it in the environment (or .env), "
            "or set DJANGO_DEBUG=true for local development."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-debug"  # noqa: S105

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "axes",
    "registry",
]

MIDDLEWARE = [
    # First: request id, JSON request log, metrics; answers /healthz, /readyz and /metrics
    # before host validation and the HTTPS redirect (probes call by IP over plain HTTP).
    "registry.middleware.observability.ObservabilityMiddleware",
    # 413 for bodies over REGISTRY_MAX_REQUEST_BYTES, before anything reads them.
    "registry.middleware.limits.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "registry.middleware.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "registry.middleware.history.HistoryContextMiddleware",
    # Last: turns a login that django-axes refused into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portfolio.urls"
WSGI_APPLICATION = "portfolio.wsgi.application"
ASGI_APPLICATION = "portfolio.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The registry's templates first, so its admin/base_site.html (language switcher)
        # overrides the admin's own, which it extends.
        "DIRS": [BASE_DIR / "registry" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASES = {
    "default": {
        **env.db_url_config(database_url(BASE_DIR)),
        "CONN_MAX_AGE": env.int("DATABASE_CONN_MAX_AGE", default=60),
        "CONN_HEALTH_CHECKS": True,
    }
}
# PostgreSQL's JIT compiles every statement whose cost estimate passes jit_above_cost. On
# this workload it only ever costs: 6 of 11 s of the portfolio report at 100k initiatives,
# 450 ms of compiling for a 1 ms count (docs/PERFORMANCE.md). Off unless asked for.
if not env.bool("DATABASE_JIT", default=False):
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c jit=off".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("de", _("German"))]
LOCALE_PATHS = [BASE_DIR / "registry" / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Berlin")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Tests and `make run` serve static files without running collectstatic first.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

REDIS_URL = env.str("REDIS_URL", default="")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

LOGIN_URL = "admin:login"

REST_FRAMEWORK = {
    # Token first: an anonymous request is answered 401 with `WWW-Authenticate: Token`.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "registry.api.core.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Ordering is part of each FilterSet (django-filter), so a bad value is a 400 too.
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "registry.api.core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "registry.api.core.pagination.PageNumberPagination",
    "PAGE_SIZE": env.int("REGISTRY_PAGE_SIZE", default=50),
    "DEFAULT_THROTTLE_CLASSES": ["registry.api.core.throttling.ClientRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # JSON only: tools send JSON, and the browsable API posts its raw JSON form. Form and
    # multipart bodies cannot carry the nested objects and lists the resources take (DRF read
    # a repeated form field as a list where one value was meant); they answer 415. The JSON
    # parser is DRF's, bounded (registry/api/core/parsers.py: nesting depth, overflowing
    # numbers, unpaired surrogates).
    "DEFAULT_PARSER_CLASSES": ["registry.api.core.parsers.JSONParser"],
}
# Requests per token (or per session user): `<n>/<second|minute|hour|day>`; empty disables.
REGISTRY_THROTTLE_USER = env.str("REGISTRY_THROTTLE_USER", default="1000/min")
# Customer-facing initiatives go into pilot only with a cross-functional team (a UX /
# service-design role, a data role, more than one department): the optional team gate.
REGISTRY_TEAM_GATE = env.bool("REGISTRY_TEAM_GATE", default=False)
# Portfolios larger than this many open initiatives read their whole-portfolio overlaps
# (dashboard, overlaps report, changelist filter) from the scores the worker keeps
# (`manage.py refresh_overlaps`); smaller ones are scored per request.
REGISTRY_OVERLAP_LIVE_LIMIT = env.int("REGISTRY_OVERLAP_LIVE_LIMIT", default=1000)
# Writes to initiatives, goals and alignments must carry If-Match (else 428).
REGISTRY_REQUIRE_IF_MATCH = env.bool("REGISTRY_REQUIRE_IF_MATCH", default=False)
# Hours an Idempotency-Key's first answer is replayed; after that the key counts as new and
# the webhook worker deletes the record (docs/API.md promises a day).
REGISTRY_IDEMPOTENCY_HOURS = env.float("REGISTRY_IDEMPOTENCY_HOURS", default=24.0)
if REGISTRY_IDEMPOTENCY_HOURS <= 0:
    raise ImproperlyConfigured("REGISTRY_IDEMPOTENCY_HOURS must be positive.")

DRF_STANDARDIZED_ERRORS = {
    "EXCEPTION_HANDLER_CLASS": "registry.api.core.errors.RegistryExceptionHandler",
    "EXCEPTION_FORMATTER_CLASS": "registry.api.core.errors.RegistryExceptionFormatter",
    "ALLOWED_ERROR_STATUS_CODES": [
        "400",
        "401",
        "403",
        "404",
        "405",
        "406",
        "409",
        "412",
        "413",
        "415",
        "428",
        "429",
        "500",
        "503",
    ],
    "ERROR_SCHEMAS": {
        "400": "registry.api.core.errors.ErrorResponse400Serializer",
        "409": "registry.api.core.errors.ErrorResponse409Serializer",
        "412": "registry.api.core.errors.ErrorResponse412Serializer",
        "413": "registry.api.core.errors.ErrorResponse413Serializer",
        "428": "registry.api.core.errors.ErrorResponse428Serializer",
        "503": "registry.api.core.errors.ErrorResponse503Serializer",
    },
}

_ERRORS = "drf_standardized_errors.openapi_serializers"
SPECTACULAR_SETTINGS = {
    "TITLE": "AI-CX Portfolio Registry API",
    "DESCRIPTION": (
        "Steer every AI initiative in customer experience against one CX vision.\n\n"
        "**Authentication**: `Authorization: Token <secret>` (tokens are created in the admin "
        "or with `manage.py create_token`), or the admin session.\n\n"
        '**Errors** share one shape: `{"type": "validation_error" | "client_error" | '
        '"server_error", "errors": [{"code", "detail", "attr"}]}`; `attr` names '
        "the field or query parameter.\n\n"
        "**Concurrency**: reads of initiatives, goals and alignments carry a strong `ETag` "
        '(the row\'s version, e.g. `"7"`); send it back as `If-Match` on PUT, PATCH, DELETE '
        "and transition. A stale one answers 412 and changes nothing."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": f"{_ERRORS}.ValidationErrorEnum.choices",
        "ClientErrorEnum": f"{_ERRORS}.ClientErrorEnum.choices",
        "ServerErrorEnum": f"{_ERRORS}.ServerErrorEnum.choices",
        "ErrorCode401Enum": f"{_ERRORS}.ErrorCode401Enum.choices",
        "ErrorCode403Enum": f"{_ERRORS}.ErrorCode403Enum.choices",
        "ErrorCode404Enum": f"{_ERRORS}.ErrorCode404Enum.choices",
        "ErrorCode405Enum": f"{_ERRORS}.ErrorCode405Enum.choices",
        "ErrorCode406Enum": f"{_ERRORS}.ErrorCode406Enum.choices",
        "ErrorCode415Enum": f"{_ERRORS}.ErrorCode415Enum.choices",
        "ErrorCode429Enum": f"{_ERRORS}.ErrorCode429Enum.choices",
        "ErrorCode500Enum": f"{_ERRORS}.ErrorCode500Enum.choices",
        "ErrorCode412Enum": "registry.api.core.errors.ErrorCode412Enum.choices",
        "ErrorCode428Enum": "registry.api.core.errors.ErrorCode428Enum.choices",
        "ErrorCode413Enum": "registry.api.core.errors.ErrorCode413Enum.choices",
        "ErrorCode503Enum": "registry.api.core.errors.ErrorCode503Enum.choices",
        "RequestErrorEnum": "registry.api.core.errors.RequestErrorEnum.choices",
        "StageEnum": "registry.choices.Stage",
        "GateEnum": "registry.choices.Gate",
        "VisionStatusEnum": "registry.choices.VisionStatus",
        "ReviewStatusEnum": "registry.choices.ReviewStatus",
        "InitiativeKindEnum": "registry.choices.Kind",
        "NoteKindEnum": "registry.choices.NoteKind",
        # One name each where the journey reports reuse a vocabulary.
        "TouchpointsEnum": "registry.choices.Touchpoint",
        "JourneyStagesEnum": "registry.choices.JourneyStage",
        "RoleEnum": "registry.choices.TeamRoleKind",
        "AlignmentLevelEnum": "registry.choices.AlignmentLevel",
        "VoiceReviewOutcomeEnum": "registry.choices.VoiceReviewOutcome",
        "LearningOutcomeEnum": "registry.choices.LearningOutcome",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
        "registry.api.core.schema.document_request_id",
    ],
}

# Production hardening; all switchable for a deployment behind a TLS-terminating proxy.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy of every response (registry/middleware/security.py); empty switches it
# off.
CONTENT_SECURITY_POLICY = env.str(
    "DJANGO_CSP",
    default=(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
)
# Failed admin logins before 429, per username and per client address, within the window.
REGISTRY_LOGIN_MAX_FAILURES = env.int("REGISTRY_LOGIN_MAX_FAILURES", default=5)
REGISTRY_LOGIN_MAX_FAILURES_PER_ADDRESS = env.int(
    "REGISTRY_LOGIN_MAX_FAILURES_PER_ADDRESS", default=30
)
REGISTRY_LOGIN_LOCKOUT_SECONDS = env.int("REGISTRY_LOGIN_LOCKOUT_SECONDS", default=900)
# django-axes counts them (registry/middleware/logins.py): its backend refuses a locked-out
# login before any password is checked. The callables read the three settings above when
# called, so they can change without a restart of axes' own configuration.
AUTHENTICATION_BACKENDS = [
    "registry.middleware.logins.LoginAttemptBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "registry.middleware.logins.LoginAttemptHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_CALLABLE = "registry.middleware.logins.login_username"
AXES_CLIENT_IP_CALLABLE = "registry.middleware.logins.client_address"
AXES_FAILURE_LIMIT = "registry.middleware.logins.failure_limit"
AXES_COOLOFF_TIME = "registry.middleware.logins.lockout_window"
AXES_LOCKOUT_CALLABLE = "registry.middleware.logins.lockout_response"
AXES_RESET_ON_SUCCESS = True
# No start-up banner in every command's output; failures and lockouts are still logged.
AXES_VERBOSE = False
# Passwords never reach the attempt log (axes' default list, named here to be sure).
AXES_SENSITIVE_PARAMETERS = ["password"]
# Largest request body (bytes) before 413; fits a sync batch of 5,000 full items. 0 = no limit.
REGISTRY_MAX_REQUEST_BYTES = env.int("REGISTRY_MAX_REQUEST_BYTES", default=32 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REGISTRY_MAX_REQUEST_BYTES or None
# The largest spreadsheet the admin's import and mapping builder accept (a clear message, nothing
# written, for a larger one); bodies over REGISTRY_MAX_REQUEST_BYTES never reach them.
REGISTRY_IMPORT_MAX_UPLOAD_BYTES = env.int(
    "REGISTRY_IMPORT_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024
)
# The mapping builder runs an import in a background thread and the page polls its progress;
# false runs it within the request (the page then opens on the finished run).
REGISTRY_IMPORT_IN_BACKGROUND = env.bool("REGISTRY_IMPORT_IN_BACKGROUND", default=True)

# One JSON object per line (LOG_FORMAT=json) with the request id on every record of a
# request; `text` is for reading a local console (the default with DJANGO_DEBUG).
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or text.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "registry.middleware.observability.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "registry.middleware.observability.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # runserver's own access line repeats registry.request's; keep only its errors.
        "django.server": {"handlers": [], "level": "ERROR", "propagate": True},
        # Django's own debug console handler would print a second, plain-text copy.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
    },
}

# --- operations: webhooks, worker, health, metrics ---------------------------------------------
# A receiver must answer within this many seconds (connect and each read).
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Attempts per delivery before it is marked "gave up" (the admin can redeliver it).
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=10)
# Backoff after the n-th failure: BACKOFF * 2^(n-1) seconds, at most BACKOFF_MAX, ±20 %.
WEBHOOK_BACKOFF_SECONDS = env.float("WEBHOOK_BACKOFF_SECONDS", default=30.0)
WEBHOOK_BACKOFF_MAX_SECONDS = env.float("WEBHOOK_BACKOFF_MAX_SECONDS", default=3600.0)
# How long a worker owns a claimed delivery; after that another worker sends it again (same
# delivery id). Must exceed WEBHOOK_TIMEOUT_SECONDS.
WEBHOOK_LEASE_SECONDS = env.float("WEBHOOK_LEASE_SECONDS", default=60.0)
if WEBHOOK_LEASE_SECONDS <= WEBHOOK_TIMEOUT_SECONDS:
    raise ImproperlyConfigured("WEBHOOK_LEASE_SECONDS must exceed WEBHOOK_TIMEOUT_SECONDS.")
# Where webhooks may go (registry/services/webhooks.py): https only unless
# WEBHOOK_ALLOW_HTTP, and only to public addresses unless WEBHOOK_ALLOWED_NETWORKS lists the
# address (comma-separated addresses or networks, e.g. 127.0.0.1/32,::1 for a local receiver,
# 10.20.0.0/16 for an internal one). Checked on subscribing and again on every delivery.
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=False)
WEBHOOK_ALLOWED_NETWORKS = env.list("WEBHOOK_ALLOWED_NETWORKS", default=[])
try:
    for _network in WEBHOOK_ALLOWED_NETWORKS:
        ipaddress.ip_network(_network.strip(), strict=False)
except ValueError as _error:
    raise ImproperlyConfigured(f"WEBHOOK_ALLOWED_NETWORKS: {_error}") from None
# Finished deliveries and fanned-out events are deleted after this many days.
WEBHOOK_RETENTION_DAYS = env.int("WEBHOOK_RETENTION_DAYS", default=30)
# Seconds an idle worker waits before polling the outbox again; deliveries claimed per pass.
WORKER_POLL_SECONDS = env.float("WORKER_POLL_SECONDS", default=1.0)
WORKER_BATCH_SIZE = env.int("WORKER_BATCH_SIZE", default=20)
# /readyz: a worker heartbeat older than this is stale; with READYZ_REQUIRE_WORKER=false a
# stale worker is reported but does not make the web process unready.
WORKER_HEARTBEAT_MAX_AGE_SECONDS = env.int("WORKER_HEARTBEAT_MAX_AGE_SECONDS", default=60)
READYZ_REQUIRE_WORKER = env.bool("READYZ_REQUIRE_WORKER", default=True)
# /metrics needs `Authorization: Bearer <METRICS_TOKEN>`; unset, it is off (open in DEBUG).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Port on which `run_worker` serves its own metrics (delivery attempts); 0 = none.
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=0)


# History triggers on the initiative ↔ department/system/tag link tables belong to
# auto-created models that migrations cannot carry; install every trigger after migrate.
PGTRIGGER_INSTALL_ON_MIGRATE = True
