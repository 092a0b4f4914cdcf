"""Use cases, one function each, taking plain arguments and returning plain results.

Split by flow: ``accounts`` (register, login, profile), ``sessions`` (tokens, refresh,
logout, session management).
"""
