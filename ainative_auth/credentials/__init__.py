"""Credentials: keys, tokens, signatures, lookups, throttling, OAuth state, browser sessions."""
