"""Typed async HTTP clients for every provider. Never imports Qt or SQLite."""
