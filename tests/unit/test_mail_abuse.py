"""Mail as an abuse channel (issue 8, item 4): nobody can make the service mail an address
again and again, or mail text they wrote to an address that never proved anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command

from ainative_auth import outbox as mail_service
from ainative_auth.outbox import plain_line
from tests.conftest import PASSWORD

REGISTER = "/api/v1/auth/register"
FORGOT = "/api/v1/auth/forgot-password"
TEMPLATES = Path(mail_service.__file__).resolve().parent.parent / "templates" / "ainative_auth"
HOSTILE_NAME = "Alice\r\nYour account is suspended: https://evil.example/login\nCall us"
pytestmark = pytest.mark.django_db(transaction=True)


def register_from(api, ip: str, email: str = "owner@example.com", name: str = "Mallory"):
    return api.post(REGISTER, {"email": email, "password": PASSWORD, "name": name},
                    format="json", REMOTE_ADDR=ip)


def notices() -> list:
    return [m for m in mail.outbox if "tried to sign up" in m.subject]


def test_the_account_exists_notice_is_limited_per_address(api, auth_settings):
    # The review: 15 IPs, 15 notices to one owner. Now at most ACCOUNT_EXISTS_NOTICE_RATE.
    auth_settings(ACCOUNT_EXISTS_NOTICE_RATE="2/day")
    assert register_from(api, "192.0.2.1").status_code == 201
    mail.outbox.clear()
    answers = [register_from(api, f"198.51.100.{i}") for i in range(6)]
    assert {(r.status_code, r.content) for r in answers} == {(answers[0].status_code,
                                                              answers[0].content)}
    assert answers[0].status_code == 409
    assert [m.to for m in notices()] == [["owner@example.com"]] * 2
    # Another address has its own allowance.
    assert register_from(api, "192.0.2.2", email="other@example.com").status_code == 201
    assert register_from(api, "192.0.2.3", email="other@example.com").status_code == 409
    assert [m.to for m in notices()][-1] == ["other@example.com"]


def test_the_notice_limit_defaults_to_three_a_day_and_can_be_switched_off(api, auth_settings):
    assert register_from(api, "192.0.2.1").status_code == 201
    mail.outbox.clear()
    for i in range(5):
        register_from(api, f"198.51.100.{i}")
    assert len(notices()) == 3
    auth_settings(ACCOUNT_EXISTS_NOTICE_RATE=None)
    for i in range(5):
        register_from(api, f"203.0.113.{i}")
    assert len(notices()) == 8


def test_a_malformed_notice_rate_is_a_system_check_error(auth_settings):
    from django.core.management.base import SystemCheckError

    auth_settings(ACCOUNT_EXISTS_NOTICE_RATE="lots")
    with pytest.raises(SystemCheckError, match="ACCOUNT_EXISTS_NOTICE_RATE"):
        call_command("check")


def test_a_name_typed_at_registration_never_reaches_the_unverified_address(api):
    # Register someone else's address with a name that is a message: the verification
    # mail goes to that address, from our domain. It must carry none of that text.
    response = register_from(api, "192.0.2.1", email="victim@example.com", name=HOSTILE_NAME)
    assert response.status_code == 201
    (message,) = mail.outbox
    html = message.alternatives[0][0]
    for part in (message.subject, message.body, html):
        assert "evil" not in part and "suspended" not in part and "Call us" not in part
        assert "Alice" not in part
    assert message.body.startswith("Hello,")


def test_nor_does_a_reset_mail_or_the_notice_for_an_unverified_account(api):
    register_from(api, "192.0.2.1", email="victim@example.com", name=HOSTILE_NAME)
    mail.outbox.clear()
    assert api.post(FORGOT, {"email": "victim@example.com"}, format="json").status_code == 200
    register_from(api, "192.0.2.2", email="victim@example.com", name="x")
    assert len(mail.outbox) == 2  # the reset link and the notice
    for message in mail.outbox:
        assert "evil" not in message.body and "Alice" not in message.body
        assert "evil" not in message.alternatives[0][0]


def test_a_verified_owner_is_greeted_by_name_on_one_plain_line(api, mail_token):
    # The reset proves the mailbox; the "password changed" notice then greets by name,
    # with line breaks flattened (the name itself was typed at registration).
    register_from(api, "192.0.2.1", email="zoe@example.com", name="Zoë\r\nO'Brien")
    api.post(FORGOT, {"email": "zoe@example.com"}, format="json")
    response = api.post("/api/v1/auth/reset-password",
                        {"token": mail_token("reset"), "new_password": "another long one 7"},
                        format="json")
    assert response.status_code == 200
    changed = mail.outbox[-1]
    assert "password was changed" in changed.subject.lower()
    assert changed.body.startswith("Hello Zoë O'Brien,\n")


def test_a_link_in_a_verified_owners_name_drops_the_name(api, mail_token):
    register_from(api, "192.0.2.1", email="zoe@example.com", name=HOSTILE_NAME)
    api.post(FORGOT, {"email": "zoe@example.com"}, format="json")
    api.post("/api/v1/auth/reset-password",
             {"token": mail_token("reset"), "new_password": "another long one 7"},
             format="json")
    changed = mail.outbox[-1]
    assert changed.body.startswith("Hello,\n")
    assert "evil" not in changed.body and "evil" not in changed.alternatives[0][0]


@pytest.mark.parametrize("typed,shown", [
    ("Zoë O'Brien", "Zoë O'Brien"),
    ("  Ann\tLee \u2028 Jr ", "Ann Lee Jr"),
    ("J.R.R. Tolkien", "J.R.R. Tolkien"),
    ("Bob\u202eevil", "Bob evil"),  # a bidi override is not kept
    ("go to evil.example", ""),
    ("evil\uff0eexample", ""),  # a fullwidth dot reads as a dot
    ("www.evil", ""),
    ("https://x", ""),
    ("mail me: a@b", ""),
    ("", ""),
])
def test_names_in_mail_are_one_plain_line_without_links(typed, shown):
    assert plain_line(typed) == shown


def test_the_templates_print_no_user_typed_field_but_the_safe_name():
    # The context's `user` is the model instance: printing `user.first_name` (or any
    # other field someone typed) would bypass mail_name. Only `name` and the stored
    # `email` may carry user text.
    templates = sorted((TEMPLATES / "email").iterdir())
    assert len(templates) >= 12
    for path in templates:
        assert "user." not in path.read_text(), path.name
