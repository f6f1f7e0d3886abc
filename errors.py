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

    # Compared without regard to case ('btc-usdt', 'rut'); a bare base ('xmr') finds 'XMR-USDT'.
    by_lower = {}
    for c in choices:
        by_lower.setdefault(str(c).lower(), str(c))
    key = str(name).strip().lower()
    close = difflib.get_close_matches(key, list(by_lower), n=1, cutoff=0.6)
    if not close:
        close = [c for c in by_lower if key and c.split("-")[0] == key][:1]
    return f" (did you mean '{by_lower[close[0]]}'?)" if close else ""
