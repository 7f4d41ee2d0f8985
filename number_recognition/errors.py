"""The one kind of error a user can act on: every script prints its message as one line and exits 2."""


class UserError(ValueError):
    """A problem with what the user gave (a file, a path, a setting); the message says what to do."""
