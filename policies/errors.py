"""The one error type user-facing code raises for bad input; the CLI maps it to exit code 2."""


class InputError(Exception):
    """Bad input or invocation. The message is one line that names the input and the fix."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)
