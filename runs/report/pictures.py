"""Figures drawn without pyplot.

A figure made here belongs to no backend and to no pyplot state: drawing a run's pictures
chooses no matplotlib backend and leaves nothing open, so it changes nothing in the session
of whoever calls it (a notebook keeps its own backend and figures). ``savefig`` picks the
renderer from the file's format.
"""
from matplotlib.figure import Figure


def subplots(nrows=1, ncols=1, figsize=None, **kwargs):
    """(figure, axes) as ``pyplot.subplots`` gives them, on a figure of its own."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kwargs)
