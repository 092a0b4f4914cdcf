"""The MFA use cases: ``factors`` (the authenticator app, recovery codes, status, disable,
the operator's reset), ``challenge`` (the sign-in gate, the challenge, step-up) and
``passkeys`` (register, list, rename, delete, sign in)."""
