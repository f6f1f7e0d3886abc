"""The error contract shared by every layer.

A user's mistake (a bad file, a bad key, a missing symbol, no network) is raised as one of
these and shown as one line; the command line turns it into the exit status below.
A bug is any other exception and keeps its traceback.
"""


class CanaryError(Exception):
    """A user-facing problem, reported as one line."""

    exit_status = 1


class DataError(CanaryError):
    """Price data that cannot be used as it is: a bad file, a missing symbol, no network."""

    exit_status = 1


class ConfigError(CanaryError):
    """A usage or configuration mistake: an unknown key, a wrong type, an impossible value."""

    exit_status = 2


def suggest(name, choices):
    """' (did you mean 'x'?)' for the closest of `choices` to a misspelt `name`, or ''."""
    import difflib

    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
