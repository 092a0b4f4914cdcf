"""Concurrent social callbacks on PostgreSQL, with real threads (C-7): one code posted
twice at once logs in once; racing callbacks for one identity never make two users or
two links; racing disconnects never remove a user's last way to log in.

Run with ``DATABASE_URL=postgres://... [REDIS_URL=redis://...] pytest <this file>``.
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from typing import Any

import pytest
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from ainative_auth.models import AccountEmail
from tests.concurrency import run_together
from tests.oauth_standins import (
    OIDCUser,
    authorize,
    callback,
    github_user,
    log_in_with,
    sign_in_at,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


User = get_user_model()
ROUNDS = 10


def post(body: dict[str, Any], index: int) -> Any:
    return callback(APIClient(REMOTE_ADDR=f"10.7.0.{index + 1}"), "github", **body)


def test_one_code_and_state_posted_twice_at_once_logs_in_once(github):
    for round_ in range(ROUNDS):
        user = github_user(uid=1000 + round_, email=f"racer{round_}@example.com")
        started = authorize(APIClient(), "github").json()
        got = sign_in_at(github, started["authorization_url"], user)

        responses = run_together([partial(post, got, i) for i in range(2)])

        statuses = Counter(r.status_code for r in responses)
        assert statuses == {200: 1, 400: 1}, statuses
        loser = next(r for r in responses if r.status_code == 400)
        assert loser.json()["error_code"] == "invalid_state"
    assert User.objects.count() == ROUNDS
    assert SocialAccount.objects.count() == ROUNDS
    assert len(github.requests_to(github.token_path)) == ROUNDS  # never a second exchange


def test_one_code_without_state_posted_at_once_is_exchanged_once(github):
    for round_ in range(ROUNDS):
        code = github.grant_code(github_user(uid=2000 + round_,
                                             email=f"nostate{round_}@example.com"))

        responses = run_together([partial(post, {"code": code}, i) for i in range(4)])

        statuses = Counter(r.status_code for r in responses)
        assert statuses == {200: 1, 400: 3}, statuses
        assert {r.json()["error_code"] for r in responses if r.status_code == 400} == {
            "invalid_code"}
    assert User.objects.count() == ROUNDS
    assert len(github.requests_to(github.token_path)) == ROUNDS


@pytest.mark.parametrize("verified", [True, False])
def test_racing_callbacks_for_one_new_identity_make_one_user_and_one_link(github, verified):
    # Different codes (two tabs, a double submit through the provider): the cache cannot
    # tell them apart, the unique indexes do. With an unverified address the losers must
    # not mistake the winner's new account for someone else's (409).
    for round_ in range(ROUNDS):
        user = github_user(uid=3000 + round_, email=f"tabs{round_}@example.com",
                           verified=verified)
        codes = [github.grant_code(user) for _ in range(4)]

        responses = run_together([partial(post, {"code": code}, i)
                                  for i, code in enumerate(codes)])

        assert [r.status_code for r in responses] == [200] * 4, [r.content for r in responses]
        assert len({r.json()["user"]["id"] for r in responses}) == 1
    assert User.objects.count() == ROUNDS
    assert AccountEmail.objects.count() == ROUNDS
    assert SocialAccount.objects.count() == ROUNDS


def test_racing_claims_of_one_unverified_account_claim_it_once(github, make_user, login):
    for round_ in range(ROUNDS):
        email = f"squatted{round_}@example.com"
        squatter = make_user(email=email)
        user = github_user(uid=4000 + round_, email=email)
        codes = [github.grant_code(user) for _ in range(4)]

        responses = run_together([partial(post, {"code": code}, i)
                                  for i, code in enumerate(codes)])

        assert [r.status_code for r in responses] == [200] * 4, [r.content for r in responses]
        assert {r.json()["user"]["id"] for r in responses} == {squatter.pk}
        assert login(email=email).status_code == 401  # the squatter's password is gone
    assert SocialAccount.objects.count() == ROUNDS
    assert User.objects.count() == ROUNDS


def delete_account(access_token: str, account_id: int) -> Any:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    return client.delete(f"/api/v1/auth/social-accounts/{account_id}")


def test_racing_disconnects_never_remove_the_last_way_to_log_in(github, linkedin):
    for round_ in range(ROUNDS):
        tokens = log_in_with(APIClient(), github, "github",
                             github_user(uid=5000 + round_,
                                         email=f"two{round_}@example.com")).json()
        owner = User.objects.get(pk=tokens["user"]["id"])
        SocialAccount.objects.create(user=owner, provider="linkedin", uid=f"li-{round_}")
        ids = list(SocialAccount.objects.filter(user=owner).values_list("pk", flat=True))

        responses = run_together([partial(delete_account, tokens["access_token"], pk)
                                  for pk in ids])

        assert sorted(r.status_code for r in responses) == [204, 409]
        assert SocialAccount.objects.filter(user=owner).count() == 1


def test_parallel_linkedin_logins_of_one_identity_agree(linkedin):
    user = OIDCUser(sub="li-race", email="li-race@example.com")
    codes = [linkedin.grant_code(user) for _ in range(4)]

    responses = run_together([
        partial(lambda code, i: callback(APIClient(REMOTE_ADDR=f"10.8.0.{i + 1}"), "linkedin",
                                         code=code), code, i)
        for i, code in enumerate(codes)
    ])

    assert [r.status_code for r in responses] == [200] * 4, [r.content for r in responses]
    assert User.objects.count() == 1
    assert SocialAccount.objects.count() == 1
