# The errors a script raises to say how its operation ends, with the original's names.


class NonRecoverableError(Exception):
    """The operation failed and retrying will not help: it is not retried."""


class RecoverableError(Exception):
    """The operation failed and may succeed later: it is retried (after retry_after seconds)."""

    def __init__(self, message='', retry_after=None, causes=None, **kwargs):
        super().__init__(message)
        self.retry_after = retry_after
        self.causes = causes or []


class OperationRetry(RecoverableError):
    """Not a failure: the operation asks to run again (after retry_after seconds)."""


class HttpException(NonRecoverableError):
    pass
