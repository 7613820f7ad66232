"""Secrets, hosts and cookies.

No secret is kept in the repository. Without ``SECRET_KEY`` a random key is generated once
into the data folder, so every process of one machine (web, worker, beat) signs alike and
signed result URLs stay valid across restarts.
"""

import os
import secrets

from .env import DATA_DIR, env_bool, env_str


def _generated_secret_key() -> str:
    path = DATA_DIR / "secret_key"
    if not path.exists():
        candidate = secrets.token_urlsafe(50)
        # O_EXCL: when two processes start together exactly one key wins.
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(candidate)
    return path.read_text().strip()


SECRET_KEY = env_str("SECRET_KEY", "") or _generated_secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = [h.strip() for h in env_str("ALLOWED_HOSTS", "*").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in env_str("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
