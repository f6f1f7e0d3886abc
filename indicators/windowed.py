"""Indicators whose value at a bar is a function of the last few bars of their inputs.

One `compute` serves both Backtrader modes: bar by bar (`next`) it receives the windows
Backtrader keeps; vectorised (`once`) it receives slices of the preloaded arrays. The values
are therefore the same in both modes by construction, and depend on no bar after the current.
"""
import numpy as np

from canary.params import Indicator


class WindowIndicator(Indicator):
    """Base class: set ``self.window`` and ``self.inputs`` (lines) in ``__init__`` and
    implement ``compute(window_2d)``, where ``window_2d[-1]`` is the current bar and each
    column one input, returning one value per output line."""

    window = 1
    inputs = ()

    def setup(self, inputs, window):
        self.inputs = list(inputs)
        self.window = int(window)
        self.addminperiod(self.window)

    def next(self):
        block = np.column_stack([np.asarray(line.get(size=self.window), dtype=float) for line in self.inputs])
        for line, value in zip(self.lines, self.compute(block)):
            line[0] = value

    def once(self, start, end):
        block = np.column_stack([np.asarray(line.array, dtype=float) for line in self.inputs])
        outputs = [line.array for line in self.lines]
        for i in range(start, end):
            for out, value in zip(outputs, self.compute(block[i - self.window + 1:i + 1])):
                out[i] = value
