"""The peers' credentials, each made the way its documentation says."""

from __future__ import annotations

from typing import Any

from benchmarks.harness import Contender


def contenders(user: Any) -> list[Contender]:
    from knox.models import AuthToken
    from rest_framework.authtoken.models import Token
    from rest_framework_api_key.models import APIKey as PeerAPIKey
    from rest_framework_simplejwt.tokens import AccessToken

    drf_token = Token.objects.create(user=user)
    _, peer_key = PeerAPIKey.objects.create_key(name="bench")
    _, knox_token = AuthToken.objects.create(user=user)
    simplejwt = str(AccessToken.for_user(user))
    return [
        Contender("DRF TokenAuthentication", "/drf-token/",
                  {"HTTP_AUTHORIZATION": f"Token {drf_token.key}"}, credentials=1),
        Contender("djangorestframework-api-key", "/drf-api-key/",
                  {"HTTP_AUTHORIZATION": f"Api-Key {peer_key}"}, credentials=1),
        Contender("django-rest-knox", "/knox/",
                  {"HTTP_AUTHORIZATION": f"Token {knox_token}"}, credentials=1),
        Contender("simplejwt stateless (no revocation)", "/simplejwt-stateless/",
                  {"HTTP_AUTHORIZATION": f"Bearer {simplejwt}"}),
        Contender("simplejwt JWTAuthentication (user lookup)", "/simplejwt/",
                  {"HTTP_AUTHORIZATION": f"Bearer {simplejwt}"}),
    ]
