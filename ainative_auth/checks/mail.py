"""Mail that cannot leave: an SMTP server that refuses connections."""

from __future__ import annotations

import socket
import warnings
from typing import Any

import django
from django.conf import settings
from django.core.checks import Warning, register
from django.utils.module_loading import import_string

from ..setup import CONSOLE_MAIL
from .common import loopback


def smtp_server() -> tuple[str, int] | None:
    """(host, port) of the default mailer when it is Django's SMTP backend, else None.
    ``MAILERS["default"]`` on Django 6.1 and later when set, else ``EMAIL_*``."""
    from django.core.mail.backends.smtp import EmailBackend as SMTPBackend

    if django.VERSION >= (6, 1) and hasattr(settings, "MAILERS"):
        mailer = (getattr(settings, "MAILERS", None) or {}).get("default") or {}
        backend, options = mailer.get("BACKEND", ""), mailer.get("OPTIONS") or {}
        host, port = options.get("host"), options.get("port")
        default_port = 465 if options.get("use_ssl") else 587 if options.get("use_tls") else 25
        port = port or default_port
    else:
        with warnings.catch_warnings():  # Django 6.1 deprecates EMAIL_*; reading is fine
            warnings.simplefilter("ignore")
            backend, host = settings.EMAIL_BACKEND, settings.EMAIL_HOST
            port = settings.EMAIL_PORT
    try:
        backend_class = import_string(backend) if isinstance(backend, str) else None
    except ImportError:
        return None
    if not (isinstance(backend_class, type) and issubclass(backend_class, SMTPBackend)):
        return None
    if not isinstance(host, str) or not host:
        return None
    return host, int(port)


def _refuses(host: str, port: int, timeout: float) -> str | None:
    """Why a TCP connection to ``host:port`` fails, or None when it opens."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def _mail_warning(host: str, port: int, reason: str) -> Warning:
    setting = ("MAILERS['default']" if django.VERSION >= (6, 1) and hasattr(settings, "MAILERS")
               else "EMAIL_HOST/EMAIL_PORT")
    console = (f"MAILERS = {{'default': {{'BACKEND': {CONSOLE_MAIL!r}}}}}"
               if django.VERSION >= (6, 1) else f"EMAIL_BACKEND = {CONSOLE_MAIL!r}")
    return Warning(
        f"Mail cannot be sent: the SMTP server {host}:{port} ({setting}) does not accept "
        f"connections ({reason}). Verification and password-reset mail would be lost.",
        hint=f"While developing, print mail to the console ({console}; configure(globals()) "
             "does it when DEBUG is on and no mail setting is set); otherwise point the "
             "mail settings at a server that accepts mail.",
        id="ainative_auth.W011")


@register()
def check_mail(app_configs: Any = None, **kwargs: Any) -> list:
    """W011: the SMTP server on this machine refuses connections (Django's default,
    localhost:25, in a new project). Only loopback servers are tried here, where an answer
    is immediate; ``check --deploy`` tries any server."""
    server = smtp_server()
    if server is None or not loopback(server[0]):
        return []
    reason = _refuses(*server, timeout=1)
    return [_mail_warning(*server, reason)] if reason else []


@register(deploy=True)
def check_mail_deploy(app_configs: Any = None, **kwargs: Any) -> list:
    """W011 under ``check --deploy``: the SMTP server elsewhere refuses connections."""
    server = smtp_server()
    if server is None or loopback(server[0]):
        return []
    reason = _refuses(*server, timeout=5)
    return [_mail_warning(*server, reason)] if reason else []
