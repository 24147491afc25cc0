"""Hushword host tools: CPython-only command-line tools for Hushword boards."""

from hushword import VERSION as __version__  # noqa: F401
