"""Request and response bodies, one module per flow like ``views`` and ``services``
(``common``: the bodies several flows share; ``fields``: the strict fields). Serializers
validate; services write."""
