"""Tests of AuthRequiredMiddleware and the pages (fixtures in this folder's conftest)."""
