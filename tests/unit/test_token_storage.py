"""R47: revocation state is keyed on the session, never on a raw token or its digest."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from ainative_auth.models import RefreshSession

pytestmark = pytest.mark.django_db


def test_no_column_holds_a_token_or_a_digest_of_one(tokens: dict[str, Any], api: Any) -> None:
    rotated = api.post("/api/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]},
                       format="json").json()
    secrets = [tokens["refresh_token"], rotated["refresh_token"], tokens["access_token"],
               rotated["access_token"]]
    forms = set()
    for secret in secrets:
        forms |= {secret, secret.rsplit(".", 1)[-1], hashlib.sha256(secret.encode()).hexdigest()}
    rows = list(RefreshSession.objects.values())
    assert rows
    stored = " ".join(str(value) for row in rows for value in row.values())
    assert [form for form in forms if form in stored] == []
