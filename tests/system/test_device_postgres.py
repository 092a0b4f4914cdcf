"""The device grant over several processes (PostgreSQL + Redis): polls that arrive at
once, at two servers, get one pass between them; the others are told to slow down, and the
longer interval holds wherever the next poll lands."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import import_module
from typing import Any

import pytest
import requests
from django.apps import apps as django_apps

from tests.concurrency import run_together
from tests.servers import Server, start_servers

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

SITE = "http://auth.example.test"
GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture(scope="module")
def servers(django_db_setup: Any) -> Iterator[list[Server]]:
    with start_servers(2, {"SITE_URL": SITE}) as urls:
        yield urls


@pytest.fixture
def cli_client(transactional_db: Any) -> None:
    """The ``ainative-cli`` row its data migration made: a transactional test that ran
    before this one flushed every table."""
    migration = import_module("ainative_auth.oauth_server.migrations.0003_ainative_cli_client")
    migration.create_client(django_apps, None)


def test_polls_at_once_at_two_processes_get_one_pass(servers: list[Server],
                                                     cli_client: None) -> None:
    a, b = servers
    codes = requests.post(f"{a}/oauth/device_authorization", timeout=10,
                          data={"client_id": "ainative-cli"}).json()

    def poll(base: str) -> str:
        answer = requests.post(f"{base}/oauth/token", timeout=10, data={
            "grant_type": GRANT, "client_id": "ainative-cli",
            "device_code": codes["device_code"]})
        assert answer.status_code == 400, answer.text
        return str(answer.json()["error"])

    errors = run_together([lambda base=base: poll(base) for base in (a, b) * 4])
    assert sorted(errors) == ["authorization_pending"] + ["slow_down"] * 7
    # The interval grew for good: the next poll, at either process, is still too early.
    assert poll(b) == "slow_down" and poll(a) == "slow_down"
