"""Errors a user can act on: the CLI prints their message as one line and exits non-zero."""


class HushwordError(Exception):
    """A failure with a message for the user (no traceback is shown)."""

    exit_code = 2
