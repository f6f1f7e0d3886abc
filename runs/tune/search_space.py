"""The search space of `canary tune` and the three ways of drawing trials from it.

`[tune.space]` maps a configuration key (`"filter.small_cap.confirm"`, or nested tables) to one of:

    [3, 5, 10]                                        these values
    {low = 50, high = 200, step = 50}                 50, 100, 150, 200 (both ends included)
    {low = 0.0, high = 0.05, distribution = "uniform"}        any value between
    {low = 0.01, high = 0.1, distribution = "log-uniform"}    evenly spread in the logarithm
    {low = 1, high = 10, distribution = "integer"}            any whole number between
    "auto"                                            the key's declared default search range

A parameter declares its default search range beside its rule (`canary.params.Rule.space`);
`expand_auto` puts it in place of "auto" (`canary.runs.config.validate` does, so a validated
configuration, and the record of a run, hold the range itself).

`grid` tries every combination of values and stepped ranges; `random` draws `count` distinct
trials with a seeded generator; `optuna` asks a seeded TPE sampler, in rounds of `batch`
trials, telling it each round's objective before the next. The same seed gives the same
trials, however many processes or machines screen them.
"""
import itertools
import math
from dataclasses import dataclass

import numpy as np

from canary.errors import ConfigError, suggest
from canary.extras import require

METHODS = ("grid", "random", "optuna")
AUTO = "auto"
DISTRIBUTIONS = ("uniform", "log-uniform", "integer")
_SPEC_KEYS = ("low", "high", "step", "distribution")


@dataclass(frozen=True)
class Dimension:
    """One tuned key: a finite list of values, or a distribution between low and high."""

    key: str
    values: tuple | None = None
    low: float | None = None
    high: float | None = None
    distribution: str | None = None

    def __str__(self):
        if self.values is not None:
            return f"{self.key} in {list(self.values)}"
        return f"{self.key} ~ {self.distribution}({self.low}, {self.high})"


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _stepped(key, low, high, step):
    if not all(_number(v) for v in (low, high, step)) or step <= 0 or high < low:
        raise ConfigError(f"tune.space.{key}: a range needs numbers low <= high and a positive step")
    count = int(math.floor((high - low) / step + 1e-9)) + 1
    if all(isinstance(v, int) for v in (low, high, step)):
        return tuple(low + i * step for i in range(count))
    return tuple(round(low + i * step, 12) for i in range(count))


def _is_spec(value):
    return isinstance(value, dict) and any(k in value for k in _SPEC_KEYS)


def _dimension(key, spec):
    if isinstance(spec, list):
        if not spec:
            raise ConfigError(f"tune.space.{key}: the list of values is empty")
        return Dimension(key, values=tuple(spec))
    unknown = [k for k in spec if k not in _SPEC_KEYS]
    if unknown:
        raise ConfigError(f"tune.space.{key}.{unknown[0]}: unknown key{suggest(unknown[0], _SPEC_KEYS)} "
                          "(a range has low, high and step or distribution)")
    if "low" not in spec or "high" not in spec:
        raise ConfigError(f"tune.space.{key}: a range needs low and high")
    low, high = spec["low"], spec["high"]
    if "step" in spec and "distribution" in spec:
        raise ConfigError(f"tune.space.{key}: give a step or a distribution, not both")
    if "step" in spec:
        return Dimension(key, values=_stepped(key, low, high, spec["step"]))
    if "distribution" not in spec:
        raise ConfigError(f"tune.space.{key}: a range needs a step (every value from low to high by step) or a "
                          f"distribution ({', '.join(DISTRIBUTIONS)}), e.g. {{low = {low}, high = {high}, step = 1}}")
    kind = spec["distribution"]
    if kind not in DISTRIBUTIONS:
        raise ConfigError(f"tune.space.{key}.distribution: {kind!r} is not one of {', '.join(DISTRIBUTIONS)}"
                          f"{suggest(kind or '', DISTRIBUTIONS)} (or give a step)")
    if not (_number(low) and _number(high)) or high <= low:
        raise ConfigError(f"tune.space.{key}: a distribution needs numbers low < high")
    if kind == "log-uniform" and low <= 0:
        raise ConfigError(f"tune.space.{key}: a log-uniform distribution needs low > 0")
    if kind == "integer" and not (isinstance(low, int) and isinstance(high, int)):
        raise ConfigError(f"tune.space.{key}: an integer distribution needs whole-number low and high")
    return Dimension(key, low=low, high=high, distribution=kind)


def parse_space(table, prefix="", auto=False):
    """[tune.space] (nested tables or dotted keys) -> list of Dimension, in the order given
    (with `auto`, the keys given as "auto" are left out: see `expand_auto`)."""
    if not isinstance(table, dict):
        raise ConfigError("tune.space: must be a table of key = values")
    dims = []
    for name, spec in table.items():
        key = f"{prefix}{name}"
        if isinstance(spec, list) or _is_spec(spec):
            dims.append(_dimension(key, spec))
        elif isinstance(spec, dict):
            dims += parse_space(spec, f"{key}.", auto)
        elif spec == AUTO and auto:
            continue
        else:
            raise ConfigError(f"tune.space.{key}: expected a list of values or a range, got {spec!r}")
    return dims


def expand_auto(table, ranges, prefix=""):
    """[tune.space] with each "auto" replaced by its key's declared range: `ranges` is
    {'section.key': range or None} of every key that may declare one. A key without a range
    is a ConfigError in one line."""
    out = {}
    for name, spec in table.items():
        key = f"{prefix}{name}"
        if spec == AUTO:
            out[name] = _declared(key, ranges)
        elif isinstance(spec, dict) and not _is_spec(spec):
            out[name] = expand_auto(spec, ranges, f"{key}.")
        else:
            out[name] = spec
    return out


def has_auto(table):
    """True if a key of [tune.space] (`table`, as `parse_space` reads it) is given as "auto"."""
    return any(spec == AUTO or (isinstance(spec, dict) and not _is_spec(spec) and has_auto(spec))
               for spec in table.values())


def _declared(key, ranges):
    if ranges.get(key) is not None:
        return ranges[key]
    if key in ranges:
        why = f"{key} declares none"
    else:
        with_range = [k for k, space in ranges.items() if space is not None]
        why = f"{key} is not a [filter] or [strategy] parameter{suggest(key, with_range)}"
    raise ConfigError(f"tune.space.{key}: \"auto\" needs a declared search range and {why}; "
                      "give its values ([a, b]) or a range ({low, high, step})")


def space_table(dims):
    """The inverse of parse_space, with dotted keys (for the record of a run)."""
    out = {}
    for d in dims:
        if d.values is not None:
            out[d.key] = list(d.values)
        else:
            out[d.key] = {"low": d.low, "high": d.high, "distribution": d.distribution}
    return out


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def grid_trials(dims):
    """Every combination of the dimensions' values, the last key varying fastest."""
    drawn = [d for d in dims if d.values is None]
    if drawn:
        raise ConfigError(f"tune.space.{drawn[0].key}: a grid needs a list or a stepped range "
                          "(distributions need method = \"random\" or \"optuna\")")
    return [dict(zip([d.key for d in dims], combo, strict=True)) for combo in itertools.product(*(d.values for d in dims))]


def _draw(dim, rng):
    if dim.values is not None:
        return dim.values[int(rng.integers(len(dim.values)))]
    if dim.distribution == "uniform":
        return float(rng.uniform(dim.low, dim.high))
    if dim.distribution == "log-uniform":
        return float(math.exp(rng.uniform(math.log(dim.low), math.log(dim.high))))
    return int(rng.integers(dim.low, dim.high + 1))


def size(dims):
    """How many distinct trials the space holds (inf with a continuous distribution)."""
    total = 1
    for d in dims:
        if d.values is not None:
            total *= len(set(map(repr, d.values)))
        elif d.distribution == "integer":
            total *= d.high - d.low + 1
        else:
            return math.inf
    return total


def random_trials(dims, count, seed):
    """`count` distinct trials drawn with numpy's generator seeded with `seed` (fewer if the
    space holds fewer)."""
    rng = np.random.default_rng(seed)
    want = min(count, size(dims))
    seen, trials = set(), []
    while len(trials) < want:
        trial = {d.key: _plain(_draw(d, rng)) for d in dims}
        if repr(trial) not in seen:
            seen.add(repr(trial))
            trials.append(trial)
    return trials


class OptunaSearch:
    """A seeded TPE study asked for rounds of trials; a setting asked again is answered from
    the first time it was screened, not screened twice."""

    def __init__(self, dims, seed):
        optuna = require("optuna", "--method optuna")

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.dims = dims
        self.study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
        self.pending = []

    def _suggest(self, trial, d):
        if d.values is None:
            if d.distribution == "integer":
                return trial.suggest_int(d.key, d.low, d.high)
            return trial.suggest_float(d.key, d.low, d.high, log=d.distribution == "log-uniform")
        return trial.suggest_categorical(d.key, list(d.values))

    def ask(self, n):
        """n settings (dicts), in the order asked."""
        self.pending = [self.study.ask() for _ in range(n)]
        return [{d.key: _plain(self._suggest(t, d)) for d in self.dims} for t in self.pending]

    def tell(self, values):
        """The objective of each setting of the last `ask`, in the same order."""
        for trial, value in zip(self.pending, values, strict=True):
            self.study.tell(trial, value if math.isfinite(value) else -1e300)
        self.pending = []
