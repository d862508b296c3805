"""Settings of the legacy monolith, all from the environment.

LEGACY_DATABASE_URL      postgres://user:password@host:port/dbname
NOTIFICATIONS_BACKEND    "legacy" (send in-process, write NotificationLog) | "service"
NOTIFICATIONS_READS      "legacy" (read NotificationLog) | "service"
NOTIFICATION_SERVICE_URL base URL of the notification service
NOTIFICATION_SERVICE_API_KEY  sent as "Authorization: Bearer <key>"
LEGACY_TIME_ZONE         TIME_ZONE (USE_TZ is False: naive local timestamps)
"""
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = BASE_DIR.parent.parent
LEGACY_SCHEMA_SQL = REPO_ROOT / "packages" / "migrations" / "legacy" / "schema.sql"

SECRET_KEY = os.environ.get("LEGACY_SECRET_KEY", "legacy-monolith-dev-only")
DEBUG = False
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = ["identity", "payments", "notifications"]
MIDDLEWARE = []
ROOT_URLCONF = "bambu_monolith.urls"


def database_from_url(url):
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"LEGACY_DATABASE_URL must be a postgres:// URL, got {parsed.scheme!r}")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")),
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
    }


DATABASES = {
    "default": database_from_url(
        os.environ.get("LEGACY_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bambu_monolith")
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

TIME_ZONE = os.environ.get("LEGACY_TIME_ZONE", "Europe/London")
USE_TZ = False
USE_I18N = False

NOTIFICATIONS_BACKEND = os.environ.get("NOTIFICATIONS_BACKEND", "legacy")
NOTIFICATIONS_READS = os.environ.get("NOTIFICATIONS_READS", "legacy")
for _name, _value in (("NOTIFICATIONS_BACKEND", NOTIFICATIONS_BACKEND), ("NOTIFICATIONS_READS", NOTIFICATIONS_READS)):
    if _value not in ("legacy", "service"):
        raise ValueError(f"{_name} must be 'legacy' or 'service', got {_value!r}")
NOTIFICATION_SERVICE_URL = os.environ.get("NOTIFICATION_SERVICE_URL", "http://127.0.0.1:3000")
NOTIFICATION_SERVICE_API_KEY = os.environ.get("NOTIFICATION_SERVICE_API_KEY", "")

# The models are unmanaged: the test runner loads the production schema into the test database.
TEST_RUNNER = "bambu_monolith.test_runner.LegacySchemaTestRunner"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"notifications": {"handlers": ["console"], "level": os.environ.get("LEGACY_LOG_LEVEL", "WARNING")}},
}
