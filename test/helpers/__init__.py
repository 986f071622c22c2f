"""Helpers that only some tests need, imported as ``helpers.<module>``.

``test/`` has no ``__init__.py``, so pytest (import mode ``prepend``) puts it
on ``sys.path`` for ``test/conftest.py``: ``from helpers.html import
parse_html`` works from every test file, as ``from conftest import ...`` does.
"""
