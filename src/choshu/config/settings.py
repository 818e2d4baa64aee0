"""Django settings for choshu, read from the environment.

Environment variables:
    CHOSHU_DATABASE_URL   database URL (default: SQLite file ``var/choshu.sqlite3``)
    CHOSHU_SECRET_KEY     Django secret key (default: a key file under ``var/`` created on first use)
    CHOSHU_FIELD_KEY      base64 32-byte key for My Number encryption (default: ``var/field.key``)
    CHOSHU_AUDIT_KEY      base64 32-byte key signing the audit trail (default: ``var/audit.key``)
    CHOSHU_AUDIT_CHECKPOINT_DIR  where signed audit checkpoints are appended (default: ``var/audit-checkpoints``)
    CHOSHU_AUDIT_SEAL_SECONDS, CHOSHU_AUDIT_CHECKPOINT_SECONDS  sealing and checkpoint intervals (1, 60)
    CHOSHU_VAR_DIR        where runtime files live (default: ``./var``)
    CHOSHU_DEBUG          ``1`` for development error pages
    CHOSHU_ALLOWED_HOSTS  comma-separated host names
    CHOSHU_UPLOAD_MAX_MB  largest import file accepted from the browser (default 200)
    CHOSHU_JOB_STALE_MINUTES  a running import silent this long is shown as interrupted (default 30)
    CHOSHU_DB_CONN_MAX_AGE          seconds a PostgreSQL connection is kept between requests (600)
    CHOSHU_SESSION_IDLE_SECONDS     idle session timeout (1800)
    CHOSHU_SESSION_RENEW_SECONDS    the idle window is moved (the session row written) at most this often (60)
    CHOSHU_TRUSTED_PROXIES  comma-separated addresses / networks of the reverse proxies whose
                            X-Forwarded-For names the client (default: none, REMOTE_ADDR is the client)
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from choshu.core.client_ip import parse_networks

VAR_DIR = Path(os.environ.get("CHOSHU_VAR_DIR", Path.cwd() / "var")).resolve()


def _secret_from_file(name: str) -> str:
    path = VAR_DIR / name
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


def _int_env(name: str, default: int) -> int:
    """A whole-number setting; a malformed value names its variable (in Japanese), no traceback."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or int(text) <= 0:
        raise ImproperlyConfigured(
            f"環境変数 {name} の値「{text}」が正しくありません。1 以上の整数（例: {default}）にしてください。"
        )
    return int(text)


def _trusted_proxies_env() -> tuple[str, ...]:
    """``CHOSHU_TRUSTED_PROXIES``: addresses or networks (CIDR); a malformed entry names itself."""
    entries = tuple(e.strip() for e in os.environ.get("CHOSHU_TRUSTED_PROXIES", "").split(",") if e.strip())
    try:
        parse_networks(entries)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"環境変数 CHOSHU_TRUSTED_PROXIES の「{exc}」は IP アドレスでもネットワーク（CIDR）でもありません。"
            "リバースプロキシのアドレスをカンマ区切りで書いてください（例: 127.0.0.1,10.0.0.0/24）。"
        ) from None
    return entries


def _database_url() -> dj_database_url.DBConfig:
    url = os.environ.get("CHOSHU_DATABASE_URL") or f"sqlite:///{VAR_DIR / 'choshu.sqlite3'}"
    try:
        return dj_database_url.parse(url, conn_max_age=0)
    except ValueError as exc:  # an unknown scheme, a malformed port
        raise ImproperlyConfigured(
            f"環境変数 CHOSHU_DATABASE_URL の値が正しくありません（{exc}）。"
            "postgres://ユーザー@ホスト:5432/データベース名 または sqlite:////絶対パス の形にしてください。"
        ) from exc


SECRET_KEY = os.environ.get("CHOSHU_SECRET_KEY") or _secret_from_file("secret.key")
if len(SECRET_KEY.strip()) < 32:  # an emptied key file, a placeholder: refuse rather than run weakly
    raise ImproperlyConfigured(
        "環境変数 CHOSHU_SECRET_KEY（未設定なら鍵ファイル var/secret.key）が短すぎます。"
        "32 文字以上のランダムな文字列にしてください（鍵ファイルを消すと次の起動で作り直されます）。"
    )
DEBUG = os.environ.get("CHOSHU_DEBUG", "") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("CHOSHU_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "django_tasks",
    "django_tasks.backends.database",
    "ninja",  # the integration API (choshu.api): its Swagger UI files are served locally
    "choshu.core",
    "choshu.accounts",
    "choshu.audit",
    "choshu.taxpayers",
    "choshu.levies",
    "choshu.receipts",
    "choshu.approvals",
    "choshu.dunning",
    "choshu.refunds",
    "choshu.debits",
    "choshu.plans",
    "choshu.cases",
    "choshu.callcenter",
    "choshu.relief",
    "choshu.enforcement",
    "choshu.reports",
    "choshu.stdlink",
    "choshu.operations",
    "choshu.api",
    "choshu.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "choshu.accounts.middleware.AuditClientMiddleware",  # client address on every audit record
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "choshu.accounts.middleware.IdleSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "choshu.accounts.middleware.RequireSecondFactorMiddleware",
    "choshu.callcenter.middleware.OperatorConfinementMiddleware",  # the call-centre operator stays in its pages
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "choshu.config.urls"
WSGI_APPLICATION = "choshu.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "choshu.accounts.context_processors.rights",
            ],
        },
    },
]

DATABASES = {"default": _database_url()}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Persistent connections: each worker process (``choshu serve``) keeps its connection between
    # requests instead of opening one per request (a new PostgreSQL backend each time: fork,
    # authentication, empty catalogue caches). Checked before reuse after an error or a restart of the
    # server (CONN_HEALTH_CHECKS); replaced after CHOSHU_DB_CONN_MAX_AGE seconds (0: one per request).
    # Connections held = workers × threads (docs/operations.md, "Web server").
    DATABASES["default"]["CONN_MAX_AGE"] = _int_env("CHOSHU_DB_CONN_MAX_AGE", 600)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while a batch import writes; a busy writer waits instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    DATABASES["default"]["TEST"] = (
        {"NAME": os.environ.get("CHOSHU_TEST_SQLITE", "")} if os.environ.get("CHOSHU_TEST_SQLITE") else {}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Audit log retention (its own, longer than the deletion of personal data; docs/security.md).
CHOSHU_AUDIT_RETENTION_YEARS = _int_env("CHOSHU_AUDIT_RETENTION_YEARS", 10)
# The audit trail's proof lives outside the database (issue 14 §1; docs/security.md): the key
# (CHOSHU_AUDIT_KEY, or var/audit.key in development) and the signed checkpoints of each chain's
# head, appended to CHOSHU_AUDIT_CHECKPOINT_DIR/checkpoints.jsonl (put it on WORM storage or ship it
# to syslog through the logger ``choshu.audit.checkpoint``).
CHOSHU_AUDIT_CHECKPOINT_DIR = Path(
    os.environ.get("CHOSHU_AUDIT_CHECKPOINT_DIR") or VAR_DIR / "audit-checkpoints"
).resolve()
# A request's record is sealed into its municipality's chain right after it commits, at most this
# often per process and chain (the worker and `choshu audit-seal` seal the rest).
CHOSHU_AUDIT_SEAL_SECONDS = float(_int_env("CHOSHU_AUDIT_SEAL_SECONDS", 1))
# A signed checkpoint of a chain's head is written at most this often per process and chain.
CHOSHU_AUDIT_CHECKPOINT_SECONDS = float(_int_env("CHOSHU_AUDIT_CHECKPOINT_SECONDS", 60))

# Lockout after repeated failed logins (django-axes), per user name *and* client address together:
# wrong passwords typed for a chief's name elsewhere lock only that address out, never the chief at
# their desk. Each repeated lockout in 24 hours doubles the cool-off (choshu.accounts.lockout).
# A section chief unlocks from 利用者と権限 → ログイン一時停止, an operator with `choshu unlock-user`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = _int_env("CHOSHU_LOGIN_FAILURE_LIMIT", 5)
CHOSHU_LOGIN_LOCKOUT_MINUTES = _int_env("CHOSHU_LOGIN_LOCKOUT_MINUTES", 30)
CHOSHU_LOGIN_LOCKOUT_MAX_HOURS = _int_env("CHOSHU_LOGIN_LOCKOUT_MAX_HOURS", 24)
AXES_COOLOFF_TIME = "choshu.accounts.lockout.cool_off"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "choshu.audit.services.client_addr"  # the address the audit log records
# The API's token endpoint (docs/api.md): 429 for an address after this many failed client
# authentications in the window, and for a client asking for more tokens than this in a minute.
CHOSHU_API_AUTH_FAILURES = _int_env("CHOSHU_API_AUTH_FAILURES", 20)
CHOSHU_API_AUTH_WINDOW_MINUTES = _int_env("CHOSHU_API_AUTH_WINDOW_MINUTES", 15)
CHOSHU_API_TOKENS_PER_MINUTE = _int_env("CHOSHU_API_TOKENS_PER_MINUTE", 60)

# The reverse proxies whose X-Forwarded-For is believed (issue 14 §6; choshu.core.client_ip): when a
# request comes from one of them, the client is the first address of the header, read from the right,
# that is not one of them. Empty: REMOTE_ADDR is the client, and any X-Forwarded-For is ignored.
CHOSHU_TRUSTED_PROXIES = _trusted_proxies_env()
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # a retry while locked does not extend it
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

OTP_TOTP_ISSUER = os.environ.get("CHOSHU_OTP_ISSUER", "choshu")
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:search"
LOGOUT_REDIRECT_URL = "web:login"

# Idle sessions end after 30 minutes. A request renews the window (a write of the session row) only
# once SESSION_RENEW_SECONDS have passed since the last renewal, not on every request
# (accounts.middleware.IdleSessionMiddleware): a session ends between 29 and 30 idle minutes.
SESSION_COOKIE_AGE = _int_env("CHOSHU_SESSION_IDLE_SECONDS", 1800)
SESSION_RENEW_SECONDS = min(_int_env("CHOSHU_SESSION_RENEW_SECONDS", 60), SESSION_COOKIE_AGE)
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy (django-csp): only this site's own scripts, styles and images; no inline script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# Production (CHOSHU_PRODUCTION=1): HTTPS only, secure cookies, HSTS. `choshu check --deploy` is clean.
PRODUCTION = os.environ.get("CHOSHU_PRODUCTION", "") == "1"
if PRODUCTION:
    DEBUG = False
    SECURE_SSL_REDIRECT = os.environ.get("CHOSHU_SSL_REDIRECT", "1") == "1"
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CHOSHU_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# Background tasks (imports uploaded from the browser): the Django tasks API with its database
# backend, so the queue lives in the same database (SQLite or PostgreSQL); `choshu worker` runs them.
TASKS = {"default": {"BACKEND": "django_tasks.backends.database.DatabaseBackend"}}
# Uploaded import files are kept under the var directory (never under the web root).
CHOSHU_UPLOAD_DIR = VAR_DIR / "uploads"
CHOSHU_UPLOAD_MAX_BYTES = int(os.environ.get("CHOSHU_UPLOAD_MAX_MB", "200")) * 1024 * 1024
# A running import whose worker has given no sign of life for this long is shown as interrupted.
CHOSHU_JOB_STALE_MINUTES = int(os.environ.get("CHOSHU_JOB_STALE_MINUTES", "30"))
# Large uploads go to a temporary file, not memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024


def _key_beside_the_data(file_name: str, env: str, label: str) -> str | None:
    """In production a key must not live beside the database: whoever copies the data directory (a
    backup, a stolen disk) would hold both the data and its key. The reason to refuse, or ``None``."""
    beside = {VAR_DIR / file_name}
    name = DATABASES["default"].get("NAME")
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and name:
        beside.add(Path(str(name)).resolve().parent / file_name)
    stored = sorted(str(p) for p in beside if p.exists())
    where = (
        f"本番環境では、{label}はデータベースやデータディレクトリ（CHOSHU_VAR_DIR）の外に置き、"
        f"環境変数 {env} で渡してください（例: root だけが読める /etc/choshu/keys.env を "
        "systemd の EnvironmentFile= で読み込む、またはシークレット管理サービス）。docs/security.md「鍵の置き場所」参照。"
    )
    if stored:
        return f"起動を中止しました: {label}のファイルがデータベースと同じ場所にあります（{', '.join(stored)}）。{where}"
    if not os.environ.get(env):
        return f"起動を中止しました: {env} が設定されていません（このままでは鍵が {VAR_DIR / file_name} に作られます）。{where}"
    return None


def _production_refusal() -> str | None:
    for file_name, env, label in (
        ("field.key", "CHOSHU_FIELD_KEY", "個人番号暗号鍵"),
        ("audit.key", "CHOSHU_AUDIT_KEY", "監査ログ署名鍵"),
        ("certificate.key", "CHOSHU_CERTIFICATE_KEY", "納税証明書の照合鍵"),
    ):
        if (refusal := _key_beside_the_data(file_name, env, label)) is not None:
            return refusal
    if not os.environ.get("CHOSHU_AUDIT_CHECKPOINT_DIR"):
        return (
            "起動を中止しました: CHOSHU_AUDIT_CHECKPOINT_DIR が設定されていません。本番環境では監査ログの"
            "署名付きチェックポイントを、データベースの外の追記専用（WORM）の場所に書き出してください。"
            "docs/security.md「鍵の置き場所」参照。"
        )
    return None


if PRODUCTION and (_refusal := _production_refusal()) is not None:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(_refusal)

LANGUAGE_CODE = "ja"
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise expects it; collectstatic fills it in production
# WhiteNoise serves static files from the apps directly, so the demo needs no collectstatic step;
# production runs collectstatic and may put a reverse proxy in front (docs/operations.md).
WHITENOISE_USE_FINDERS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CHOSHU_LOG_LEVEL", "WARNING")},
}
