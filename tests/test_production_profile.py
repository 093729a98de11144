"""The production profile: `check --deploy` clean, security headers and a CSP on the admin,
the docs and the API as gunicorn serves them with DEBUG off behind a TLS proxy, no traceback
in any answer, secrets only from the environment, admin logins rate-limited.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
import requests
from django.core.cache import cache
from django.test import Client, override_settings

from reliability.live import PROJECT_DIR, LiveServer, production_env, run_manage
from tests import factories
from tests.processes import database_url

PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "k3y-" + "x9Q!vR2#mT7$wL5^" * 4,
    "DJANGO_ALLOWED_HOSTS": "registry.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://registry.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",
}


def manage(*args: str, **environment: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "REGISTRY_", "PYTEST"))
    }
    env["DJANGO_ENV_FILE"] = ""  # the environment alone, not a developer's .env
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env={**env, **environment},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_check_deploy_has_no_warning_in_production():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_without_a_secret_from_the_environment_nothing_starts():
    environment = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_SECRET_KEY"}
    result = manage("check", **environment)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
}


@pytest.fixture(scope="module")
def production_server(django_db_setup, tmp_path_factory):
    """One gunicorn for the module: it reads nothing but the (existing) test database."""
    url = database_url()  # TCP or the embedded server's Unix socket
    env = production_env(url, **{k: v for k, v in PRODUCTION.items() if k != "DATABASE_URL"})
    for name in ("DJANGO_SECURE_SSL_REDIRECT", "DJANGO_SECURE_COOKIES", "DJANGO_HSTS_SECONDS"):
        env.pop(name)  # the production defaults: redirect, secure cookies, HSTS
    # As the image build does: hashed, compressed static files for WhiteNoise's manifest.
    run_manage(env, "collectstatic", "--no-input", "-v0")
    log_path = tmp_path_factory.mktemp("production") / "gunicorn.log"
    with LiveServer(env, workers=1, log_path=log_path) as server:
        yield server


def fetch(server: LiveServer, path: str, *, https: bool = True) -> requests.Response:
    headers = {"Host": "registry.example.com"}
    if https:  # as the TLS-terminating proxy forwards it
        headers["X-Forwarded-Proto"] = "https"
    return requests.get(server.url + path, headers=headers, allow_redirects=False, timeout=30)


@pytest.mark.parametrize("path", ["/admin/login/", "/api/docs/", "/api/v1/", "/api/v1/nope/"])
def test_security_headers_and_csp_behind_a_tls_proxy(production_server, path):
    response = fetch(production_server, path)
    assert response.status_code in (200, 401, 404), response.text[:300]
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.headers.get(name))
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self';" in policy  # no inline scripts anywhere
    assert "frame-ancestors 'none'" in policy
    assert "Traceback" not in response.text
    if path == "/admin/login/":
        cookie = response.headers["Set-Cookie"]
        assert "csrftoken=" in cookie
        assert "Secure" in cookie


def test_plain_http_is_redirected_to_https(production_server):
    response = fetch(production_server, "/admin/login/", https=False)
    assert response.status_code == 301
    assert response.headers["Location"] == "https://registry.example.com/admin/login/"


def test_an_unknown_host_gets_400_without_detail(production_server):
    response = requests.get(
        production_server.url + "/admin/login/",
        headers={"Host": "evil.example.com", "X-Forwarded-Proto": "https"},
        timeout=30,
    )
    assert response.status_code == 400
    assert "evil.example.com" not in response.text
    assert "Traceback" not in response.text


# --- admin login attempts --------------------------------------------------------------------


@override_settings(REGISTRY_LOGIN_MAX_FAILURES=3, REGISTRY_LOGIN_LOCKOUT_SECONDS=600)
def test_failed_admin_logins_are_limited_per_username(db):
    cache.clear()
    factories.UserFactory(username="alice", is_staff=True)  # password correct-horse-battery
    factories.UserFactory(username="bob", is_staff=True)
    client = Client()
    statuses = [
        client.post("/admin/login/", {"username": "alice", "password": "wrong"}).status_code
        for _attempt in range(3)
    ]
    # The form again with its error, until the failure that reaches the limit: django-axes
    # answers that one 429 already, and every attempt after it.
    assert statuses == [200, 200, 429]
    blocked = client.post(
        "/admin/login/", {"username": "alice", "password": "correct-horse-battery"}
    )
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) == 600
    assert "_auth_user_id" not in client.session
    # Another account is not locked out by alice's failures.
    other = Client().post("/admin/login/", {"username": "bob", "password": "correct-horse-battery"})
    assert other.status_code == 302
    cache.clear()


@override_settings(REGISTRY_LOGIN_MAX_FAILURES=100, REGISTRY_LOGIN_MAX_FAILURES_PER_ADDRESS=4)
def test_failed_admin_logins_are_limited_per_address(db):
    cache.clear()
    factories.UserFactory(username="carol", is_staff=True)
    client = Client()
    for n in range(4):
        client.post("/admin/login/", {"username": f"guess{n}", "password": "wrong"})
    blocked = client.post(
        "/admin/login/", {"username": "carol", "password": "correct-horse-battery"}
    )
    assert blocked.status_code == 429
    cache.clear()


@override_settings(REGISTRY_LOGIN_MAX_FAILURES=3)
def test_a_successful_login_clears_the_username_count(db):
    cache.clear()
    factories.UserFactory(username="dave", is_staff=True)
    client = Client()
    for _attempt in range(2):
        client.post("/admin/login/", {"username": "dave", "password": "wrong"})
    ok = client.post("/admin/login/", {"username": "dave", "password": "correct-horse-battery"})
    assert ok.status_code == 302
    Client().post("/admin/login/", {"username": "dave", "password": "wrong"})
    again = Client().post(
        "/admin/login/", {"username": "dave", "password": "correct-horse-battery"}
    )
    assert again.status_code == 302
    cache.clear()


@pytest.mark.parametrize(
    ("failing_as", "then_as"),
    [
        ("sec-norole", "ｓｅｃ-norole"),  # full-width letters, NFKC-equal
        ("ｓｅｃ-norole", "sec-norole"),
        ("sec-norole", "SEC-NOROLE"),
        ("sec-norole", " sec-norole "),
    ],
)
def test_a_locked_username_stays_locked_in_any_spelling_django_authenticates(
    db, failing_as, then_as
):
    """The lock keyed on the raw POST value; Django authenticates the NFKC form, so the
    full-width spelling went on guessing and logged in with the right password."""
    cache.clear()
    factories.UserFactory(username="sec-norole", is_staff=True)
    for _attempt in range(5):
        Client().post("/admin/login/", {"username": failing_as, "password": "wrong"})
    for password in ("wrong", "correct-horse-battery"):
        blocked = Client().post("/admin/login/", {"username": then_as, "password": password})
        assert blocked.status_code == 429, (then_as, password)
        assert "_auth_user_id" not in blocked.client.session


def test_the_default_locks_at_the_fifth_failure(db):
    factories.UserFactory(username="erin", is_staff=True)
    statuses = [
        Client().post("/admin/login/", {"username": "erin", "password": "wrong"}).status_code
        for _attempt in range(6)
    ]
    assert statuses == [200] * 4 + [429, 429]


def test_failed_logins_are_listed_in_the_admin_and_reset_by_command(db):
    from axes.models import AccessAttempt
    from django.core.management import call_command

    factories.UserFactory(username="frank", is_staff=True)
    for _attempt in range(5):
        Client().post("/admin/login/", {"username": "ｆrank", "password": "wrong"})
    attempt = AccessAttempt.objects.get()
    assert attempt.username == "frank"  # normalised
    assert attempt.failures_since_start == 5
    assert "wrong" not in attempt.post_data  # the password is masked
    admin = Client()
    admin.force_login(factories.UserFactory(username="root", is_staff=True, is_superuser=True))
    page = admin.get("/admin/axes/accessattempt/")
    assert page.status_code == 200
    assert "frank" in page.content.decode()
    call_command("axes_reset_username", "frank", stdout=io.StringIO())
    ok = Client().post("/admin/login/", {"username": "frank", "password": "correct-horse-battery"})
    assert ok.status_code == 302


def test_the_pmo_lifts_a_lock_in_the_admin(db):
    from axes.models import AccessAttempt

    from registry import permissions

    factories.UserFactory(username="gina", is_staff=True)
    for _attempt in range(5):
        Client().post("/admin/login/", {"username": "gina", "password": "wrong"})
    attempt = AccessAttempt.objects.get()
    pmo = Client()
    pmo.force_login(
        factories.UserFactory(username="pmo-x", groups=[permissions.PMO], is_staff=True)
    )
    assert pmo.get("/admin/axes/accessattempt/").status_code == 200
    confirm = pmo.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert confirm.status_code == 302
    ok = Client().post("/admin/login/", {"username": "gina", "password": "correct-horse-battery"})
    assert ok.status_code == 302
