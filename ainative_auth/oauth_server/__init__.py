"""The OAuth 2.1 authorization server (an optional sub-app, like ``allauth.mfa``).

Built on django-allauth's ``allauth.idp.oidc`` (oauthlib underneath): the grant logic is
the library's; this package is the glue: issuer and resources from ``SITE_URL``, our
sign-in and consent page, RFC 8414 metadata, RFC 9207 ``iss``, ``private_key_jwt``,
refresh-token reuse detection, guarded metadata-document fetches, the "Connected apps"
grants and the resource-server side (``authentication``). See docs/oauth-server.md.
"""
