"""Layered settings: ``base`` (embedded default), ``test`` and ``production`` build on it."""
