"""Thin views: validate with a serializer, call one service, return.

Split by flow like ``services``: ``base`` (the shared APIView), ``accounts``, ``sessions``,
``api_keys``, ``verification``, ``passwords``, ``social``.
"""
