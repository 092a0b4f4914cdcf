"""System checks: what would otherwise fail late, at a request, or silently.

Unknown settings keys and values of the wrong type, bad rates, caches and adapters that do
not exist, a frontend URL links cannot be built from, argon2id not hashing, a login path
nothing serves, an admin login outside the limits, mail that cannot leave, per-process
caches. Each message names the fix; ``docs/settings.md`` lists every id.

One module per subject: ``settings`` (``AINATIVE_AUTH`` itself), ``project`` (how the
project around the app is wired), ``deploy`` (``check --deploy``), ``mail``. Importing
this package registers them all (``AinativeAuthConfig.ready``).
"""

from .deploy import PER_PROCESS_BACKENDS, check_shared_caches, check_site_url, per_process_caches
from .mail import check_mail, check_mail_deploy, smtp_server
from .project import (
    check_admin_login,
    check_frontend_url,
    check_login_path,
    check_password_hashers,
    check_secure_cookies,
)
from .settings import check_settings

__all__ = [
    "PER_PROCESS_BACKENDS",
    "check_admin_login",
    "check_frontend_url",
    "check_login_path",
    "check_mail",
    "check_mail_deploy",
    "check_password_hashers",
    "check_secure_cookies",
    "check_settings",
    "check_shared_caches",
    "check_site_url",
    "per_process_caches",
    "smtp_server",
]
