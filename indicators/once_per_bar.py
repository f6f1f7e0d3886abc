"""Indicators whose value at a bar is fixed when that bar arrives."""
from canary.params import Indicator


class OncePerBarIndicator(Indicator):
    """Base class: ``next_bar`` runs once per bar of this indicator's clock.

    Backtrader calls an indicator's ``next`` (and ``prenext``) on every step of the strategy,
    including steps where only another feed moved (an equity close between two crypto bars).
    A value decided at a bar must not be rewritten by a later step, so the work is done on the
    first step of each bar only. Subclasses implement ``next_bar``.
    """

    _done = 0  # the length at which next_bar last ran

    def next_bar(self):
        raise NotImplementedError

    def prenext(self):
        self.next()

    def next(self):
        if len(self) == self._done:
            return
        self._done = len(self)
        self.next_bar()
