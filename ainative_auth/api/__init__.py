"""The API face: views and serializers, one module per flow on both axes."""
