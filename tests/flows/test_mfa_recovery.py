"""Lost everything: the operator's reset (the admin's action, ``ainative_reset_mfa``) removes
every factor and revokes every session and API key."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command

from ainative_auth.mfa.models import Passkey, RecoveryCode, TOTPDevice
from ainative_auth.models import APIKey, RefreshSession
from ainative_auth.services import api_keys
from tests.conftest import assert_error, me
from tests.mfa_helpers import code_now, enable_totp

# Each test is one transaction rolled back; those reading mail sent after commit commit.
pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user: Any, clock: Any, api: Any, login: Any) -> Any:
    user = make_user()
    secret, _ = enable_totp(user)
    clock.advance(61)
    user.signed_in = api.post("/api/v1/auth/mfa/challenge", {
        "mfa_token": login().json()["mfa_token"], "code": code_now(secret)},
        format="json").json()
    user.key = api_keys.create_key(user, name="agent")
    return user


def _assert_reset(alice: Any, login: Any) -> None:
    assert not TOTPDevice.objects.filter(user=alice).exists()
    assert not RecoveryCode.objects.filter(user=alice).exists()
    assert not Passkey.objects.filter(user=alice).exists()
    assert not RefreshSession.objects.filter(user=alice, revoked_at__isnull=True).exists()
    assert not APIKey.objects.filter(user=alice, revoked_at__isnull=True).exists()
    assert_error(me(alice.signed_in["access_token"]), 401)
    assert login().status_code == 200  # the password alone again; set MFA up anew


@pytest.mark.django_db(transaction=True)  # real commits: its mail goes out after commit
def test_the_command_resets_every_factor_and_ends_every_session_and_key(
    alice: Any, login: Any
) -> None:
    mail.outbox.clear()
    out = StringIO()
    call_command("ainative_reset_mfa", "--user", "alice@example.com", stdout=out)
    assert "1 session(s) and 1 API key(s) revoked" in out.getvalue()
    assert any("removed" in message.subject for message in mail.outbox)
    _assert_reset(alice, login)


def test_the_admin_action_does_the_same(alice: Any, login: Any, admin_client: Any) -> None:
    device = TOTPDevice.objects.get(user=alice)
    response = admin_client.post("/admin/ainative_auth_mfa/totpdevice/", {
        "action": "reset_second_factors", "_selected_action": [device.pk]})
    assert response.status_code == 302, response.content[:300]
    _assert_reset(alice, login)
