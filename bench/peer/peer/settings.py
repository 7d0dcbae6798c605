"""A minimal django-tenants project serving a school's home page, set up for speed as one
would run it in production: DEBUG off, no sessions, auth or CSRF middleware (the page needs
none), persistent database connections, cached templates, warnings-only logging.

The database comes from the environment (scripts/bench sets it): PEER_DB_NAME, PEER_DB_HOST,
PEER_DB_PORT, PEER_DB_USER.
"""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# A benchmark on loopback: nothing is signed, so the key protects nothing.
SECRET_KEY = os.environ.get("PEER_SECRET_KEY", "bench-peer-not-a-secret")
DEBUG = False
ALLOWED_HOSTS = [".schoolplein.test", "localhost", "127.0.0.1"]

# django-tenants: the tenant and domain models live in the public schema (shared); each
# school's own schema holds its profile (tenant app), as each Schoolplein school's does.
SHARED_APPS = [
    "django_tenants",
    "django.contrib.contenttypes",  # the backend clears its cache on every switch of tenant
    "schools",
]
TENANT_APPS = [
    "profiles",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "schools.School"
TENANT_DOMAIN_MODEL = "schools.Domain"
# Issue `SET search_path` once per switch of tenant, not on every cursor (the documented
# setting for speed).
TENANT_LIMIT_SET_CALLS = True

DATABASES = {
    "default": {
        "ENGINE": "django_tenants.postgresql_backend",
        "NAME": os.environ.get("PEER_DB_NAME", "bench_peer_10"),
        "USER": os.environ.get("PEER_DB_USER", "postgres"),
        "HOST": os.environ.get("PEER_DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("PEER_DB_PORT", "54349"),
        # Each worker keeps its connection for as long as it lives.
        "CONN_MAX_AGE": None,
        "CONN_HEALTH_CHECKS": False,
    }
}
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The tenant middleware first: it finds the school by the Host header.
MIDDLEWARE = [
    "django_tenants.middleware.main.TenantMainMiddleware",
]
ROOT_URLCONF = "peer.urls"
WSGI_APPLICATION = "peer.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        # With DEBUG off, Django keeps compiled templates (the cached loader).
        "OPTIONS": {"context_processors": []},
    }
]

LANGUAGE_CODE = "nl"
TIME_ZONE = "Europe/Amsterdam"
USE_I18N = False
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
