"""The WSGI application. A malformed setting or key stops the start with one Japanese sentence naming
the variable (on standard error, exit code 2), as ``choshu`` commands do — no traceback."""

import os
import sys

from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "choshu.config.settings")


def _refuse(message: str) -> None:
    sys.stderr.write(f"エラー: {message}\n")
    raise SystemExit(2)


try:
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
except ImproperlyConfigured as exc:
    _refuse(str(exc))

from choshu.audit.keys import audit_key_problem  # noqa: E402  (needs the settings configured)
from choshu.taxpayers.crypto import field_key_problem  # noqa: E402

if _problem := field_key_problem() or audit_key_problem():
    _refuse(_problem)
