"""The one error type users see: a single sentence naming the problem and the fix."""


class TestbedError(Exception):
    """A problem the user can fix; the CLI prints it as one line and exits non-zero."""

    __test__ = False  # not a pytest test class, despite the name
