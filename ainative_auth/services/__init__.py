"""Use cases, one function each, taking plain arguments and returning plain results.

Split by flow: ``accounts`` (register, login, profile), ``sessions`` (tokens, refresh,
logout, session management), ``api_keys``, ``verification`` (email verification),
``passwords`` (forgot, reset, change) and ``mail`` (sending after commit).
"""
