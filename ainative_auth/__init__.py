"""ainative_auth: the AINative authentication API as a drop-in Django app."""

__version__ = "0.1.0"
