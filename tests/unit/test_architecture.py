"""The house keeps its shape: import directions (import-linter), three hops from URL to
logic, a package root that holds only the public surface, and no function too complex to
read. Each check names what it found, so a failure says where to look."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

from django.urls import URLPattern, get_resolver

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "ainative_auth"

# --- import directions -------------------------------------------------------------------


def test_the_import_contracts_hold() -> None:
    """``.importlinter``: the layers of the house, the hot path that never reaches flows,
    mail or signals, and the app that never imports the example project."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")),
         str(ROOT / ".importlinter"), "--no-cache"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


# --- the package root --------------------------------------------------------------------

# What a project names in settings, urls and code (plus identity, clock and client, which
# every room below uses). Everything else lives in a room. Two of them are packages, split
# by subject behind the same dotted names.
PUBLIC_SURFACE = {
    "__init__", "adapter", "admin", "admin_site", "apps", "authentication", "backends",
    "checks", "cli", "client", "clock", "conf", "exceptions", "hashers", "middleware",
    "models", "parsers", "permissions", "schema", "setup", "signals", "urls", "urls_pages",
    "urls_wellknown", "users",
}
PUBLIC_PACKAGES = {"checks", "exceptions"}
ROOMS = {"api", "credentials", "management", "migrations", "outbox", "providers", "services",
         "web", "static", "templates", "templatetags", "oauth_server", "mfa"}


def test_the_package_root_holds_only_the_public_surface() -> None:
    folders = {path.name for path in PACKAGE.iterdir()
               if path.is_dir() and path.name != "__pycache__"}
    modules = {path.stem for path in PACKAGE.glob("*.py")} | (folders & PUBLIC_PACKAGES)
    assert modules == PUBLIC_SURFACE, {"extra": modules - PUBLIC_SURFACE,
                                       "missing": PUBLIC_SURFACE - modules}
    assert folders - PUBLIC_PACKAGES <= ROOMS, folders - PUBLIC_PACKAGES - ROOMS


# --- three hops: URL -> a short view -> one service ---------------------------------------

# Handlers allowed something other than exactly one service call, each with its reason.
# This list may only shrink.
THREE_HOP_EXCEPTIONS: dict[str, str] = {
    "GET /api/v1/users/me": "reads request.user: no use case behind it",
    "GET /api/v1/auth/me": "reads request.user: no use case behind it",
    "GET /api/v1/health": "no use case: SELECT 1",
    "GET /api/v1/schema": "no use case: the OpenAPI document (drf-spectacular's view)",
    "GET /api/v1/schema/docs": "no use case: the schema in Swagger UI (drf-spectacular's)",
    "PATCH /api/v1/api-keys/<str:key_id>": "a lookup (404 if not theirs), then the action",
    "DELETE /api/v1/api-keys/<str:key_id>": "a lookup (404 if not theirs), then the action",
    "POST /api/v1/api-keys/<str:key_id>/rotate": "a lookup (404 if not theirs), then the action",
    "* /dashboard/keys": "the action, then the page it answers with (its one read)",
    "* /dashboard/keys/<str:key_id>/rotate": "lookups, the action, the page (secret once)",
    "* /dashboard/keys/<str:key_id>/revoke": "lookups (the key, its name), then the action",
    "* /dashboard/sessions/<str:session_id>/revoke": "a lookup (its name), then the action",
}


def _imports_of(module: ModuleType) -> dict[str, str]:
    names: dict[str, str] = {}
    package = module.__name__ if hasattr(module, "__path__") else module.__name__.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:
                names[alias.asname or alias.name] = f"{base}.{alias.name}"
    return names


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head else None
    return None


def _calls(fn: Any, module: ModuleType, cls: Any, imports: dict[str, str], depth: int = 0,
           seen: set[str] | None = None) -> list[str]:
    """Dotted names of what ``fn`` calls through its module's imports, following helpers of
    the same module (and ``self.`` methods) two levels deep."""
    seen = set() if seen is None else seen
    found: list[str] = []
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not (name := _dotted(node.func)):
            continue
        head, _, rest = name.partition(".")
        if head == "self" and cls is not None and depth < 2:
            target = getattr(cls, rest.split(".")[0], None)
            if inspect.isfunction(target) and rest not in seen:
                seen.add(rest)
                found += _calls(target, sys.modules[target.__module__], cls,
                                _imports_of(sys.modules[target.__module__]), depth + 1, seen)
        elif head in imports:
            found.append(imports[head] + (f".{rest}" if rest else ""))
        elif depth < 2 and head not in seen:
            helper = getattr(module, head, None)
            if inspect.isfunction(helper) and helper.__module__ == module.__name__:
                seen.add(head)
                found += _calls(helper, module, cls, imports, depth + 1, seen)
    return found


def _handlers() -> list[tuple[str, Any, ModuleType, Any]]:
    out = []
    for conf, prefix in (("ainative_auth.urls", "/api/v1/"), ("ainative_auth.urls_pages", "/")):
        for pattern in get_resolver(conf).url_patterns:
            if not isinstance(pattern, URLPattern):
                continue
            cls = getattr(pattern.callback, "view_class", None)
            if cls is not None:
                methods = [m for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)]
                for method in methods:
                    fn = getattr(cls, method)
                    out.append((f"{method.upper()} {prefix}{pattern.pattern}", fn,
                                sys.modules[fn.__module__], cls))
            else:
                fn = inspect.unwrap(pattern.callback)
                out.append((f"* {prefix}{pattern.pattern}", fn, sys.modules[fn.__module__],
                            None))
    return out


def _judge(fn: Any, module: ModuleType, cls: Any) -> tuple[list[str], list[str]]:
    found = _calls(fn, module, cls, _imports_of(module))
    # The core's services, and an optional sub-app's own (``ainative_auth.mfa.services``).
    services = sorted({c for c in found if c.startswith(
        ("ainative_auth.services.", "ainative_auth.mfa.services."))})
    extra = sorted({c for c in found if c.startswith((
        "ainative_auth.credentials.browser_session.start",
        "ainative_auth.credentials.browser_session.end",
        "ainative_auth.authentication.authenticate",
        "django.contrib.auth.login", "django.contrib.auth.logout"))})
    return services, extra


def test_every_handler_is_three_hops_from_its_url() -> None:
    failures = {}
    for name, fn, module, cls in _handlers():
        services, extra = _judge(fn, module, cls)
        if (len(services) != 1 or extra) and name not in THREE_HOP_EXCEPTIONS:
            failures[name] = (services, extra)
    assert not failures, "\n".join(f"{k}: {v}" for k, v in failures.items())


def test_the_three_hop_exceptions_are_still_needed() -> None:
    handlers = {name: (fn, module, cls) for name, fn, module, cls in _handlers()}
    stale = []
    for name in THREE_HOP_EXCEPTIONS:
        if name not in handlers:
            stale.append(f"{name}: no such handler")
            continue
        services, extra = _judge(*handlers[name])
        if len(services) == 1 and not extra:
            stale.append(f"{name}: passes now, remove it from the list")
    assert not stale, stale


def test_the_three_hop_check_catches_a_handler_that_assembles_a_use_case() -> None:
    """The check itself can fail: a view calling two services is caught."""
    source = textwrap.dedent('''
        from ainative_auth.services import accounts, sessions

        def view(request):
            result = accounts.login_with_password(email="a", password="b")
            sessions.revoke_session(result.session, "x")
    ''')
    module = ModuleType("probe_module")
    module.__file__ = "probe_module.py"
    exec(compile(source, "probe_module.py", "exec"), module.__dict__)  # noqa: S102
    inspect_getsource = inspect.getsource
    try:
        inspect.getsource = lambda obj: (source if obj in (module, module.view)  # type: ignore[assignment]
                                         else inspect_getsource(obj))
        services, _ = _judge(module.view, module, None)
    finally:
        inspect.getsource = inspect_getsource  # type: ignore[assignment]
    assert services == ["ainative_auth.services.accounts.login_with_password",
                        "ainative_auth.services.sessions.revoke_session"]


# --- complexity ---------------------------------------------------------------------------


def test_no_function_is_rated_d_or_worse() -> None:
    """radon's cyclomatic complexity: D starts at 21 (a function to split)."""
    import radon.complexity as radon
    too_complex = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for block in radon.cc_visit(path.read_text()):
            if radon.cc_rank(block.complexity) >= "D":
                too_complex.append(f"{path.relative_to(ROOT)}:{block.lineno} {block.name} "
                                   f"({block.complexity})")
    assert not too_complex, too_complex
