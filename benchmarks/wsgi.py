"""The benchmark project as a WSGI application, for the HTTP stage's gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")

application = get_wsgi_application()
