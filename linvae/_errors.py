"""The one exception type for bad user input (STYLE.md practice 8)."""


class InputError(ValueError):
    """Bad input: the message is one line saying what was expected, what was found and what to do.

    The CLI prints it without a traceback and exits with status 2 (docs/how-to/python-api.md, "Errors and
    precision").
    """
