"""The signing keys, parsed once per process.

The library reads its RSA key from the PEM text of ``IDP_OIDC_PRIVATE_KEYS`` every time it
signs or checks a token (``jwkkit.load_jwk_from_pem``): every access token, every ID
token, every JWKS. Parsing a private key runs ``cryptography``'s RSA consistency checks,
30 to 40 ms of CPU each time, so the token endpoint cost that much per call, and a client
could make the server spend it at will. Here the parse is kept per PEM text (a rotated key
is new text, parsed once when first used); each caller still gets its own copy of the JWK
dictionary, so none can change what the next one reads.
"""

from __future__ import annotations

import functools
import json
from typing import Any

# Active, retiring and next keys, with room to spare; the PEM texts are the keys.
_KEYS_KEPT = 16


def install() -> None:
    """Put the keeping loader in place of the library's (from ``AppConfig.ready``)."""
    from allauth.core.internal import jwkkit

    library_loader = jwkkit.load_jwk_from_pem
    if getattr(library_loader, "keeps_parsed_keys", False):
        return

    @functools.lru_cache(maxsize=_KEYS_KEPT)
    def parse(pem: str) -> tuple[str, Any]:
        jwk, private_key = library_loader(pem)
        return json.dumps(jwk), private_key

    def load_jwk_from_pem(pem: str) -> tuple[dict[str, Any], Any]:
        jwk_text, private_key = parse(pem)
        return json.loads(jwk_text), private_key

    load_jwk_from_pem.keeps_parsed_keys = True  # type: ignore[attr-defined]
    jwkkit.load_jwk_from_pem = load_jwk_from_pem
