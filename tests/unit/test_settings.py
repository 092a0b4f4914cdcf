"""The ``AINATIVE_AUTH`` settings: read at use time, checked, every key documented."""

from __future__ import annotations

import ast
import base64
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import Error
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

import ainative_auth
from ainative_auth.checks import check_settings
from ainative_auth.conf import DEFAULTS, auth_settings

PACKAGE_DIR = Path(ainative_auth.__file__).parent


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def error_ids(problems: list[Any]) -> list[str]:
    return [problem.id for problem in problems]


# --- read at use time ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_access_token_lifetime_is_read_at_each_login(make_user, login, auth_settings):
    make_user()
    assert login().json()["expires_in"] == 1800

    auth_settings(ACCESS_TOKEN_LIFETIME=600)
    body = login().json()

    assert body["expires_in"] == 600
    token = claims(body["access_token"])
    assert token["exp"] - token["iat"] == 600


def test_override_settings_changes_what_auth_settings_returns():
    before = auth_settings.PASSWORD_MAX_LENGTH

    with override_settings(AINATIVE_AUTH={"PASSWORD_MAX_LENGTH": 64}):
        inside = auth_settings.PASSWORD_MAX_LENGTH

    assert (before, inside, auth_settings.PASSWORD_MAX_LENGTH) == (1024, 64, 1024)


def test_unset_keys_fall_back_to_their_defaults():
    with override_settings(AINATIVE_AUTH={}):
        assert auth_settings.ACCESS_TOKEN_LIFETIME == DEFAULTS["ACCESS_TOKEN_LIFETIME"]
        assert auth_settings.TRUSTED_PROXY_COUNT == 0


def test_one_throttle_rate_can_change_without_restating_the_others():
    with override_settings(AINATIVE_AUTH={"THROTTLE_RATES": {"login": "1/second"}}):
        rates = auth_settings.THROTTLE_RATES

    assert rates["login"] == "1/second"
    assert rates["register"] == DEFAULTS["THROTTLE_RATES"]["register"]
    assert set(rates) == set(DEFAULTS["THROTTLE_RATES"])


def test_reading_an_unknown_setting_is_an_error():
    with pytest.raises(AttributeError):
        auth_settings.NO_SUCH_SETTING  # noqa: B018


def test_the_throttle_scopes_are_the_ones_of_the_design():
    assert set(DEFAULTS["THROTTLE_RATES"]) == {
        "login", "register", "refresh", "forgot_password", "reset_password", "verify_email",
        "resend_verification", "change_password", "oauth", "api_key", "mfa", "device",
        "trial_key",
    }


def test_every_default_has_a_comment_right_above_it():
    source = (PACKAGE_DIR / "conf.py").read_text().splitlines()
    tree = ast.parse("\n".join(source))
    defaults = next(
        node.value for node in ast.walk(tree)
        if isinstance(node, ast.AnnAssign | ast.Assign)
        and "DEFAULTS" in ast.unparse(node.targets[0] if isinstance(node, ast.Assign)
                                      else node.target)
    )
    assert isinstance(defaults, ast.Dict)

    undocumented = [
        key.value for key in defaults.keys
        if isinstance(key, ast.Constant)
        and not source[key.lineno - 2].strip().startswith("#")
    ]

    assert undocumented == []
    assert {k.value for k in defaults.keys if isinstance(k, ast.Constant)} == set(DEFAULTS)


# --- system checks ---------------------------------------------------------------------


def test_the_test_settings_pass_the_checks():
    assert [p for p in check_settings() if isinstance(p, Error)] == []


def test_an_unknown_key_is_check_error_e002_with_a_hint(auth_settings):
    auth_settings(ACCESS_TOKEN_LIFETME=60)

    problems = [p for p in check_settings() if p.id == "ainative_auth.E002"]

    assert len(problems) == 1
    assert isinstance(problems[0], Error)
    assert "ACCESS_TOKEN_LIFETIME" in problems[0].hint


@pytest.mark.django_db  # Django 6.1's check command also runs the database checks
def test_an_unknown_key_stops_manage_py_check(auth_settings):
    auth_settings(SIGNNG_KEY="x")

    with pytest.raises(SystemCheckError, match=r"ainative_auth\.E002"):
        call_command("check")


@pytest.mark.parametrize("rate", ["10/fortnight", "ten/minute", "10", "-1/minute", "1.5/hour"])
def test_a_bad_rate_is_check_error_e004(settings, rate):
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH, "THROTTLE_RATES": {"login": rate}}

    assert "ainative_auth.E004" in error_ids(check_settings())


@pytest.mark.parametrize("rate", ["10/minute", "5/hour", "1/second", "100/day", "3/min", None])
def test_good_rates_pass_the_checks(settings, rate):
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH, "THROTTLE_RATES": {"login": rate}}

    assert "ainative_auth.E004" not in error_ids(check_settings())


def test_an_unknown_throttle_scope_is_check_error_e003(settings):
    settings.AINATIVE_AUTH = {**settings.AINATIVE_AUTH, "THROTTLE_RATES": {"logins": "5/minute"}}

    assert "ainative_auth.E003" in error_ids(check_settings())


def test_a_non_dict_setting_is_check_error_e001(settings):
    settings.AINATIVE_AUTH = [("ACCESS_TOKEN_LIFETIME", 60)]

    assert error_ids(check_settings()) == ["ainative_auth.E001"]


def test_a_non_hmac_jwt_algorithm_is_check_error_e005(auth_settings):
    auth_settings(JWT_ALGORITHM="none")

    assert "ainative_auth.E005" in error_ids(check_settings())


def test_a_missing_email_backend_is_warning_w001(settings):
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]

    assert "ainative_auth.W001" in error_ids(check_settings())


# --- never bound at import -------------------------------------------------------------


def settings_reads_at_definition_time(source: str) -> list[str]:
    """Places where ``auth_settings`` (or ``settings.AINATIVE_AUTH``) is read when the module
    is imported, not when code runs: module level, class bodies, default arguments and
    decorators. Each as "line N: <code>"."""
    found: list[str] = []

    def is_settings_read(node: ast.AST) -> bool:
        if isinstance(node, ast.Name) and node.id == "auth_settings":
            return isinstance(node.ctx, ast.Load)
        return (
            isinstance(node, ast.Attribute) and node.attr == "AINATIVE_AUTH"
            and isinstance(node.value, ast.Name) and node.value.id == "settings"
        )

    def visit(node: ast.AST, deferred: bool) -> None:
        if not deferred and is_settings_read(node):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            args = node.args
            # Defaults and decorators run when the function is defined; the body later.
            for default in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
                visit(default, deferred)
            if not isinstance(node, ast.Lambda):
                for decorator in node.decorator_list:
                    visit(decorator, deferred)
                for statement in node.body:
                    visit(statement, True)
            else:
                visit(node.body, True)
            return
        if isinstance(node, ast.ClassDef):
            for item in [*node.decorator_list, *node.bases, *node.keywords, *node.body]:
                visit(item, deferred)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, deferred)

    visit(ast.parse(source), False)
    return found


def test_the_definition_time_check_finds_each_kind_of_early_read():
    source = (
        "from .conf import auth_settings\n"
        "LIFETIME = auth_settings.ACCESS_TOKEN_LIFETIME\n"
        "class View:\n"
        "    rate = auth_settings.THROTTLE_RATES\n"
        "    def get(self, limit=auth_settings.PASSWORD_MAX_LENGTH):\n"
        "        return auth_settings.ADAPTER\n"
        "@cache(auth_settings.THROTTLE_CACHE)\n"
        "def f(*, key=auth_settings.SIGNING_KEY):\n"
        "    return lambda x=auth_settings.JWT_ISSUER: auth_settings.JWT_AUDIENCE  # runs late\n"
        "ALIAS = auth_settings\n"
        "RAW = settings.AINATIVE_AUTH\n"
        "def ok():\n"
        "    class Inner:\n"
        "        fine = auth_settings.ADAPTER\n"
        "    return settings.AINATIVE_AUTH\n"
        "HOOK = lambda x=auth_settings.JWT_ISSUER: auth_settings.JWT_AUDIENCE\n"
    )

    found = sorted(
        int(entry.split(":")[0].removeprefix("line "))
        for entry in settings_reads_at_definition_time(source)
    )

    assert found == [2, 4, 5, 7, 8, 10, 11, 16]


def test_no_module_of_the_app_reads_its_settings_at_import_time():
    offenders = {
        str(path.relative_to(PACKAGE_DIR)): found
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
        if (found := settings_reads_at_definition_time(path.read_text()))
    }

    assert offenders == {}


# --- the example project's environment -----------------------------------------------


def test_the_example_project_reads_throttle_rates_from_the_environment():
    from example_project.settings import parse_throttle_rates

    rates = parse_throttle_rates("register=100/hour, login=10/minute,oauth=none,bogus")

    assert rates == {"register": "100/hour", "login": "10/minute", "oauth": None}
