class GymlabError(Exception):
    """A user-facing error: the CLI prints its message on one line and exits non-zero."""


class FileSystemError(GymlabError, OSError):
    """An operating-system error on a path (read-only, permission, disk full, a file where a folder should
    be, a name too long), said in one line that names the path and the cause. Still an OSError."""

    def __init__(self, what: str, path, err: OSError):
        cause = err.strerror or type(err).__name__
        super().__init__(f"cannot {what} {path}: {cause}")
        self.path, self.errno = path, err.errno

    def __str__(self) -> str:
        return self.args[0]
