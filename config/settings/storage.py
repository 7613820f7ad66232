"""Where step results and sync results are stored: the local disk or S3 (django-storages)."""

from .env import DATA_DIR, env_choice, env_str

RESULTS_STORAGE = env_choice("RESULTS_STORAGE", "local", ("local", "s3"))

_results_backend: dict
if RESULTS_STORAGE == "s3":
    _results_backend = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME", "triggerfish-results"),
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("AWS_S3_REGION_NAME", "") or None,
            "access_key": env_str("AWS_ACCESS_KEY_ID", "") or None,
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY", "") or None,
            "default_acl": None,
            "file_overwrite": True,
            # Sync callers are redirected to presigned GET URLs of result objects
            # (triggers/sync.py passes TRIGGERFISH_RESULT_URL_SECONDS as their expiry).
            "querystring_auth": True,
            "signature_version": env_str("AWS_S3_SIGNATURE_VERSION", "s3v4"),
            "addressing_style": env_str("AWS_S3_ADDRESSING_STYLE", "") or None,
        },
    }
else:
    _results_backend = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "results")},
    }

STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "media")},
    },
    "results": _results_backend,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
