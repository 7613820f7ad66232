"""The database: SQLite under the data folder by default, anything ``DATABASE_URL`` names."""

from django.core.exceptions import ImproperlyConfigured

from .env import DATA_DIR, env, env_str

_DEFAULT_URL = f"sqlite:///{DATA_DIR / 'triggerfish.sqlite3'}"

try:
    _database = env.db_url_config(env_str("DATABASE_URL", _DEFAULT_URL))
except Exception as error:  # django-environ raises several types for a bad URL
    raise ImproperlyConfigured(
        f"Environment variable DATABASE_URL is not valid: {error}"
    ) from error

_KNOWN_ENGINES = {
    "django.db.backends.sqlite3",
    "django.db.backends.postgresql",
    "django.db.backends.mysql",
    "django.contrib.gis.db.backends.postgis",
}
if _database.get("ENGINE") not in _KNOWN_ENGINES:
    raise ImproperlyConfigured(
        "Environment variable DATABASE_URL names no supported database "
        "(use postgres://..., or sqlite:///path)."
    )

if _database["ENGINE"] == "django.db.backends.sqlite3":
    # Web workers, the Celery worker and beat are separate processes sharing one file.
    # WAL lets readers proceed during a write; IMMEDIATE takes the write lock at BEGIN,
    # so two writers queue on the busy timeout instead of failing mid-transaction.
    _database.setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Tests that start a worker or server subprocess need the test database on disk.
    _database["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
else:
    _database.setdefault("CONN_MAX_AGE", 60)
    _database.setdefault("CONN_HEALTH_CHECKS", True)

DATABASES = {"default": _database}
