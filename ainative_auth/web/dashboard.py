"""The dashboard: who is signed in, sessions, API keys and connected accounts, and their
actions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps as django_apps
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from ..client import Client
from ..exceptions import APIError, StepUpRequired
from ..models import APIKey, RefreshSession
from ..services import api_keys, overview, sessions
from . import forms
from .common import NOTICE_KEY, dashboard_url, notify, page, redirect, signed_in


@dataclass(frozen=True)
class DashboardSection:
    """A section a sub-app adds to the dashboard (``ainative_auth.mfa``: "Security"):
    ``template`` is included with ``section`` = ``context(request, user, session)``."""

    template: str
    context: Callable[[HttpRequest, Any, RefreshSession], dict[str, Any]]


_sections: list[DashboardSection] = []


def register_section(section: DashboardSection) -> None:
    """Show ``section`` on the dashboard (once, however often it is registered)."""
    if section not in _sections:
        _sections.append(section)


def step_up_prompt(request: HttpRequest, user: Any, *, retry: dict[str, str],
                   action: str | None = None) -> HttpResponse:
    """The pages' answer to ``StepUpRequired``: a prompt for the second factor (posted to
    the MFA app's step-up page), which then repeats this request (``action``, by default
    its path, with the form fields ``retry``) once the session has proven one. 403, like
    the API's."""
    return render(request, "ainative_auth/pages/step_up.html", {
        "signed_in_user": user, "retry_action": action or request.path,
        "retry_fields": sorted(retry.items()), "errors": {},
    }, status=403)


def _unique_labels(items: list[Any], label: Callable[[Any], str],
                   detail: Callable[[Any], str]) -> dict[Any, str]:
    """Labels that tell rows apart: ``label(item)``, plus ``detail(item)`` where two rows
    would otherwise share one (so every button's accessible name is unique)."""
    counts: dict[str, int] = {}
    for item in items:
        counts[label(item)] = counts.get(label(item), 0) + 1
    return {
        item.pk: label(item) if counts[label(item)] == 1 else f"{label(item)} ({detail(item)})"
        for item in items
    }


def _session_rows(live: list[RefreshSession],
                  current: RefreshSession) -> list[dict[str, Any]]:
    labels = _unique_labels(
        live, lambda s: s.device or "Unknown device",
        lambda s: f"signed in {s.created_at:%Y-%m-%d %H:%M:%S}, {str(s.pk)[:8]}",
    )
    return [{"session": s, "label": labels[s.pk], "current": s.pk == current.pk}
            for s in live]


def _key_rows(keys: list[APIKey]) -> list[dict[str, Any]]:
    labels = _unique_labels(keys, lambda k: k.name, lambda k: k.prefix)
    return [{"key": k, "label": labels[k.pk], "state": k.state()} for k in keys]


def _render_dashboard(request: HttpRequest, user: Any, session: RefreshSession, *,
                      status: int = 200, **extra: Any) -> HttpResponse:
    seen = overview.account_overview(Client.of(request), user)
    context = {
        "signed_in_user": user,
        "email_verified": seen.email_verified,
        "may_create_keys": seen.may_create_keys,
        "current_session": session,
        "session_rows": _session_rows(seen.sessions, session),
        "key_rows": _key_rows(seen.keys),
        # Read-only: the owner sees every identity that can sign in as them.
        "identity_rows": [{"account": account, "provider": name}
                          for account, name in seen.identities],
        "expiry_choices": [(value, label) for value, label, _ in forms.EXPIRY_CHOICES],
        "scopes_hint": _scopes_hint(seen.default_scopes),
        "sections": [{"template": section.template,
                      **section.context(request, user, session)} for section in _sections],
        "notice": request.session.pop(NOTICE_KEY, None),
        "connected_apps": _connected_apps(user),
        "errors": {},
        "values": {},
        **extra,
    }
    return render(request, "ainative_auth/pages/dashboard.html", context, status=status)


def _connected_apps(user: Any) -> list[Any] | None:
    """The OAuth server's grants ("Connected apps") when that sub-app is installed, else
    None (the section is left out)."""
    if not django_apps.is_installed("ainative_auth.oauth_server"):
        return None
    from ..oauth_server import services as oauth_services

    return list(oauth_services.connected_apps(user))


def _scopes_hint(default: list[str]) -> str:
    if default == ["*"]:
        return "Separated by commas or spaces. Leave empty for full access (*)."
    return f"Separated by commas or spaces. Leave empty for: {', '.join(default) or 'none'}."


@page
@require_http_methods(["GET", "HEAD"])
@signed_in
def dashboard(request: HttpRequest, user: Any, session: RefreshSession) -> HttpResponse:
    """Who is signed in, the live sessions, the API keys, the create form."""
    return _render_dashboard(request, user, session)


def _shown_once(request: HttpRequest, user: Any, session: RefreshSession,
                created: api_keys.IssuedKey, status: int) -> HttpResponse:
    # Rendered into this POST's answer, never kept anywhere to show later: the key and its
    # secret exist only in this response. The page script swaps the URL for /dashboard so
    # a reload is a GET (the key is gone), not a second POST.
    return _render_dashboard(request, user, session, status=status, new_key=created,
                             replace_url=dashboard_url())


@page
@require_POST
@csrf_protect
@signed_in
def create_key(request: HttpRequest, user: Any, session: RefreshSession) -> HttpResponse:
    """``services.api_keys.create_own_key`` with the form's name, scopes and expiry (403
    while the address is not verified, as over the API)."""
    result = forms.read_new_key(request.POST)
    errors = dict(result.errors)
    status = 400
    if result.ok:
        try:
            created = api_keys.create_own_key(user, via=session, **result.data)
        except StepUpRequired:
            return step_up_prompt(request, user, retry={
                name: request.POST.get(name, "") for name in ("name", "scopes", "expires")})
        except APIError as exc:
            errors[None] = str(exc.detail)
            if exc.status_code in (401, 403):  # not verified; signed out meanwhile
                status = exc.status_code
        else:
            return _shown_once(request, user, session, created, status=201)
    values = {name: request.POST.get(name, "") for name in ("name", "scopes", "expires")}
    return _render_dashboard(request, user, session, status=status, errors=errors,
                             values=values)


def _confirm(request: HttpRequest, user: Any, *, title: str, text: str,
             button: str) -> HttpResponse:
    """The second page of a destructive action (when ``confirm()`` did not run)."""
    return render(request, "ainative_auth/pages/confirm.html", {
        "signed_in_user": user, "title": title, "text": text, "button": button,
        "action": request.path,
    })


def _confirmed(request: HttpRequest) -> bool:
    return request.POST.get("confirmed") == "yes"


def _key_or_404(user: Any, key_id: str) -> APIKey:
    key = api_keys.get_key(user, key_id)
    if key is None:
        raise Http404("No such API key.")
    return key


def _key_label(user: Any, key: APIKey) -> str:
    # The name the dashboard shows it by (told apart from its twins by the prefix).
    keys = api_keys.list_keys(user)
    return next(row["label"] for row in _key_rows(keys) if row["key"].pk == key.pk)


@page
@require_POST
@csrf_protect
@signed_in
def rotate_key(request: HttpRequest, user: Any, session: RefreshSession,
               key_id: str) -> HttpResponse:
    """``services.api_keys.rotate_own_key``: a new secret, shown once; the old one stops
    (a second factor first, for a user with MFA on)."""
    key = _key_or_404(user, key_id)
    label = _key_label(user, key)
    if not _confirmed(request):
        return _confirm(request, user, title=f"Rotate key {label}?",
                        text="Its current secret stops working now: every client using "
                             "it needs the new key.",
                        button=f"Rotate key {label}")
    try:
        rotated = api_keys.rotate_own_key(key, via=session)
    except StepUpRequired:
        return step_up_prompt(request, user, retry={"confirmed": "yes"})
    except APIError as exc:
        notify(request, str(exc.detail))
        return redirect(dashboard_url())
    return _shown_once(request, user, session, rotated, status=200)


@page
@require_POST
@csrf_protect
@signed_in
def revoke_key(request: HttpRequest, user: Any, session: RefreshSession,
               key_id: str) -> HttpResponse:
    """``services.api_keys.revoke_key``: the key's next request is a 401."""
    key = _key_or_404(user, key_id)
    label = _key_label(user, key)
    if not _confirmed(request):
        return _confirm(request, user, title=f"Revoke key {label}?",
                        text="Requests made with it will fail from now on. This cannot "
                             "be undone.",
                        button=f"Revoke key {label}")
    api_keys.revoke_key(key)
    notify(request, f"Key {label} was revoked.")
    return redirect(dashboard_url())


@page
@require_POST
@csrf_protect
@signed_in
def revoke_session(request: HttpRequest, user: Any, session: RefreshSession,
                   session_id: str) -> HttpResponse:
    """``services.sessions.revoke_user_session``: that device is signed out at once."""
    rows = {str(row["session"].pk): row
            for row in _session_rows(sessions.live_sessions(user), session)}
    row = rows.get(session_id)
    if row is None:
        raise Http404("No such session.")
    if not _confirmed(request):
        return _confirm(request, user, title=f"Revoke session {row['label']}?",
                        text="That device is signed out and its tokens stop working now.",
                        button=f"Revoke session {row['label']}")
    sessions.revoke_user_session(user, session_id)
    notify(request, f"Session {row['label']} was revoked.")
    return redirect(dashboard_url())


