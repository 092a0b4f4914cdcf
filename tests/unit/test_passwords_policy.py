"""Password storage and policy (R11-R15, R17, R30): argon2id, upgrade on login, lengths,
blocklist, no trimming, constant-time secret checks and bounded hashing concurrency.

The suite hashes with a cheap subclass (``tests.hashers``); the real parameters are tested
here by using the example project's hasher directly.
"""

from __future__ import annotations

import importlib
import threading
import time
from typing import Any

import argon2
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import (
    check_password,
    get_hasher,
    get_hashers_by_algorithm,
    identify_hasher,
    make_password,
)
from django.utils.module_loading import import_string

from ainative_auth.hashers import Argon2idPasswordHasher
from tests.conftest import PASSWORD
from tests.hashers import old_pbkdf2_hash

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"


@pytest.fixture
def example_hashers(settings: Any) -> list[str]:
    """Hash with the example project's real hashers for one test."""
    example = importlib.import_module("example_project.settings")
    settings.PASSWORD_HASHERS = list(example.PASSWORD_HASHERS)
    return settings.PASSWORD_HASHERS


def params_of(encoded: str) -> argon2.Parameters:
    return argon2.extract_parameters("$" + encoded.split("$", 1)[1])


def stored_password(email: str = "alice@example.com") -> str:
    model = get_user_model()
    return model.objects.get(**{model.get_email_field_name(): email}).password


def codes(response: Any, field: str = "password") -> set[str]:
    return {e["code"] for e in response.json()["errors"] if e["field"] == field}


# --- R11: argon2id with explicit parameters -------------------------------------------


def test_the_example_project_hashes_with_ainative_argon2id_first():
    example = importlib.import_module("example_project.settings")

    assert example.PASSWORD_HASHERS[0] == "ainative_auth.hashers.Argon2idPasswordHasher"


def test_argon2id_hashes_carry_owasps_first_argon2id_row():
    hasher = Argon2idPasswordHasher()

    encoded = hasher.encode("correct horse battery staple", hasher.salt())

    assert encoded.startswith("argon2$argon2id$v=19$m=47104,t=1,p=1$")
    params = params_of(encoded)
    assert params.type is argon2.Type.ID
    # OWASP's argon2id rows: m=47104 with t=1, or m=19456 with t=2 (and so on down).
    assert (params.memory_cost >= 47104 and params.time_cost >= 1) or (
        params.memory_cost >= 19456 and params.time_cost >= 2)
    assert params.salt_len >= 16 and params.hash_len == 32
    assert hasher.verify("correct horse battery staple", encoded)
    assert not hasher.verify("correct horse battery stapler", encoded)


def test_registering_with_the_example_hashers_stores_the_documented_parameters(
    example_hashers, register, login
):
    assert register().status_code == 201

    assert stored_password().startswith("argon2$argon2id$v=19$m=47104,t=1,p=1$")
    started = time.perf_counter()
    assert login().status_code == 200
    # Hashing is not a no-op: 46 MiB, t=1 takes tens of milliseconds on any machine.
    assert time.perf_counter() - started >= 0.02


def test_the_suite_hashes_with_a_fast_subclass_of_the_real_hasher(register):
    assert isinstance(get_hasher("default"), Argon2idPasswordHasher)

    register()

    assert stored_password().startswith("argon2$argon2id$v=19$")


# --- R12: upgrade on login -----------------------------------------------------------


def test_a_pbkdf2_hash_is_replaced_by_argon2id_on_the_next_login(make_user, login):
    user = make_user()
    user.password = old_pbkdf2_hash(PASSWORD)
    user.save()
    assert stored_password().startswith("pbkdf2_sha256$")

    response = login()

    assert response.status_code == 200
    upgraded = stored_password()
    assert upgraded.startswith("argon2$argon2id$v=19$")
    configured = get_hasher("default")
    assert not configured.must_update(upgraded)
    assert login().status_code == 200


def test_an_argon2_hash_with_other_parameters_is_rehashed_on_login(make_user, login):
    user = make_user()
    old = argon2.PasswordHasher(time_cost=2, memory_cost=512, parallelism=2).hash(PASSWORD)
    user.password = "argon2" + old
    user.save()

    assert login().status_code == 200

    current = params_of(stored_password())
    configured = get_hasher("default")
    assert (current.time_cost, current.memory_cost, current.parallelism) == (
        configured.time_cost, configured.memory_cost, configured.parallelism
    )


def test_a_wrong_password_never_rewrites_an_old_hash(make_user, login):
    user = make_user()
    user.password = old_pbkdf2_hash(PASSWORD)
    user.save()
    before = stored_password()

    assert login(password="wrong password!").status_code == 401

    assert stored_password() == before


# --- R13: length, no composition rules ---------------------------------------------------


def test_a_seven_character_password_is_too_short(register):
    response = register(password="xq7#kLp")

    assert response.status_code == 400
    assert response.json()["error_code"] == "validation_error"
    assert "password_too_short" in codes(response)
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize("length", [8, 15, 64, 128, 1024])
def test_passwords_from_8_to_the_maximum_length_are_accepted_and_log_in(
    register, login, length
):
    password = ("Tr0ub4dor&3 zebra quilt " * 50)[:length]

    assert register(password=password).status_code == 201

    assert login(password=password).status_code == 200


def test_a_password_over_the_maximum_is_refused_before_any_hashing(register, hash_ops):
    response = register(password="x" * 1025)

    assert response.status_code == 400
    assert "max_length" in codes(response)
    assert hash_ops == []
    assert not get_user_model().objects.exists()


def test_a_login_with_an_overlong_password_is_refused_before_any_hashing(
    make_user, login, hash_ops
):
    make_user()
    hash_ops.clear()

    response = login(password="x" * 1_000_000)

    assert response.status_code == 400
    assert "max_length" in codes(response)
    assert hash_ops == []


def test_the_maximum_length_is_a_setting_counted_in_code_points(register, auth_settings):
    auth_settings(PASSWORD_MAX_LENGTH=20)
    emoji = "🙂🙃😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙😚😜"

    assert register(email="a@example.com", password=emoji[:20]).status_code == 201
    too_long = register(email="b@example.com", password=emoji[:21])

    assert too_long.status_code == 400
    assert "max_length" in codes(too_long)


def test_the_minimum_length_counts_code_points_not_bytes(register):
    emoji = "🙂🙃😀😁😂🤣😃😄"

    short = register(email="a@example.com", password=emoji[:7])
    enough = register(email="b@example.com", password=emoji[:8])

    assert short.status_code == 400 and "password_too_short" in codes(short)
    assert enough.status_code == 201


@pytest.mark.parametrize(
    "password",
    ["correct horse battery staple", "alllowercaseletters", "пароль-очень-длинный-🙂",
     "ZWJ 👩\u200d💻 and RTL \u202eword\u202c here", "  tabs\tand spaces  "],
)
def test_passwords_need_no_composition_and_may_use_any_unicode(register, login, password):
    assert register(password=password).status_code == 201

    assert login(password=password).status_code == 200


# --- R14: blocklist ------------------------------------------------------------------


@pytest.mark.parametrize(
    "password", ["password", "qwertyuiop", "newpassword", "password1234", "qwertyuiop123",
                 "iloveyou", "letmein123"]
)
def test_common_passwords_are_refused_with_a_reason_code(register, password):
    response = register(password=password)

    assert response.status_code == 400
    assert response.json()["error_code"] == "validation_error"
    assert "password_too_common" in codes(response)
    assert not get_user_model().objects.exists()


def test_an_all_digits_password_is_refused(register):
    response = register(password="80418337215")

    assert response.status_code == 400
    assert "password_entirely_numeric" in codes(response)


def test_a_password_that_is_the_email_is_refused(register):
    response = register(email="jonathan.smith@example.com",
                        password="jonathan.smith@example.com")

    assert response.status_code == 400
    assert "password_too_similar" in codes(response)


# --- R15: verified exactly as received ------------------------------------------------


@pytest.fixture
def spaced_account(register: Any) -> str:
    password = "  pass phrase with spaces  "
    assert register(password=password).status_code == 201
    return password


def test_a_password_with_surrounding_spaces_logs_in_only_exactly_as_set(spaced_account, login):
    assert login(password=spaced_account).status_code == 200
    assert login(password=spaced_account.strip()).status_code == 401
    assert login(password=spaced_account + " ").status_code == 401
    assert login(password=spaced_account.upper()).status_code == 401


def test_the_form_login_does_not_trim_the_password_either(spaced_account, api):
    def form(password: str) -> Any:
        from urllib.parse import urlencode

        return api.post(LOGIN, urlencode({"username": "alice@example.com",
                                          "password": password}),
                        content_type="application/x-www-form-urlencoded")

    assert form(spaced_account).status_code == 200
    assert form(spaced_account.strip()).status_code == 401


# --- R17: secrets compared in constant time -------------------------------------------


def test_refresh_tokens_are_compared_in_constant_time(tokens, api, monkeypatch):
    import hmac

    from ainative_auth.credentials import keys

    compared: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(keys.hmac, "compare_digest", spy)
    session_part, generation, mac = tokens["refresh_token"].split(".")
    forged = f"{session_part}.{generation}.{'A' * len(mac)}"

    response = api.post("/api/v1/auth/refresh", {"refresh_token": forged}, format="json")

    assert response.status_code == 401
    assert any(forged.encode() in (a, b) for a, b in compared)


# --- R30: bounded hashing concurrency --------------------------------------------------


def test_argon2_hashes_are_verified_by_the_bounded_hasher():
    encoded = make_password(PASSWORD)

    assert isinstance(identify_hasher(encoded), Argon2idPasswordHasher)


def test_the_example_projects_argon2_hashes_are_verified_by_the_bounded_hasher():
    example = importlib.import_module("example_project.settings")
    by_algorithm = {
        import_string(path).algorithm: import_string(path)
        for path in example.PASSWORD_HASHERS
    }  # Django keeps the *last* hasher listed for an algorithm

    assert issubclass(by_algorithm["argon2"], Argon2idPasswordHasher)
    assert issubclass(type(get_hashers_by_algorithm()["argon2"]), Argon2idPasswordHasher)


@pytest.mark.parametrize("operation", ["verify", "hash"])
def test_at_most_four_argon2_computations_run_at_once(monkeypatch, operation):
    encoded = make_password(PASSWORD)
    running, peak, lock = 0, 0, threading.Lock()
    # Django verifies through argon2.PasswordHasher and hashes through low_level.hash_secret.
    owner, name = ((argon2.PasswordHasher, "verify") if operation == "verify"
                   else (argon2.low_level, "hash_secret"))
    real = getattr(owner, name)

    def slow(*args: Any, **kwargs: Any) -> Any:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        try:
            return real(*args, **kwargs)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(owner, name, slow)

    def work() -> None:
        if operation == "verify":
            assert check_password(PASSWORD, encoded)
        else:
            make_password(PASSWORD)

    threads = [threading.Thread(target=work) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert 1 < peak <= 4
