"""The regime's signals, declared as data, and the classifier that reads the declarations.

A `Signal` says which indicator computes it, which of its lines is read, on which clock,
against which threshold in which direction, and which group it belongs to:

* ``background`` (the small-cap condition): every signal must hold, else risk-off;
* ``eth_strength``: every signal must hold, else btc;
* ``breadth``: at least ``breadth.needed`` signals must hold for alts, else eth.

Parameters come in sections, one per indicator (``[filter.<section>]`` in a configuration):
the indicator's own ``params`` and the thresholds (and on/off switch) of the signals read
from it; the defaults are the indicator classes' defaults and the thresholds declared here.
Adding a confirmation is an indicator file and one `Signal` in `SIGNALS`: the classifier,
`RiskRegime`, the configuration and the screening engine read the declarations.

Everything here also works on plain arrays (`evaluate`, `classify`): the screening engine
computes the same signals with the same functions as the Backtrader indicators.
"""
from dataclasses import dataclass

import numpy as np

from canary.errors import ConfigError, suggest
from canary.feeds.alignment import known_at
from canary.feeds.roles import role
from canary.params import ParameterError, Rule, check_value, param_schema, searched

from .alt_volume import AltVolumeHold
from .array_indicator import in_bars
from .ethbtc import EthBtcStrength
from .failed_breakouts import FailedBreakoutRate
from .relative_strength import SmallVsLargeCap
from .smallcap_breakout import SmallCapBreakout

EQUITY, CRYPTO = "equity-session", "crypto-bar"
BACKGROUND, ETH_STRENGTH, BREADTH = "background", "eth_strength", "breadth"
GROUPS = (BACKGROUND, ETH_STRENGTH, BREADTH)
RISK_OFF, BTC, ETH, ALTS = 0, 1, 2, 3
REGIME_NAMES = {RISK_OFF: "risk-off", BTC: "btc", ETH: "eth", ALTS: "alts"}
COMPARE = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}
# Settings of the groups themselves, a section each: {section: {key: (default, Rule)}}.
GROUP_SETTINGS = {"breadth": {"needed": (1, Rule(lambda v: 0 <= v <= sum(s.group == BREADTH for s in registry()),
                                                 "from 0 to the number of breadth signals", space=[0, 1, 2]))}}
# A threshold on a ratio over its average - 1 (any number; its default search range).
RELATIVE = searched([-0.02, 0.0, 0.02])


@dataclass(frozen=True)
class Signal:
    """One condition of the regime: a line of an indicator against a threshold.

    ``section`` names the indicator's parameters (signals of one section share one
    indicator); ``feeds`` the roles it is fed, in order (of `canary.feeds.roles.ROLES`); ``clock`` is
    ``EQUITY`` (counts sessions; read as of each crypto bar close, from closes known then)
    or ``CRYPTO``. The signal holds where ``line <direction> threshold``; the threshold is
    the section's key ``threshold`` (default ``level``; a configuration's value is checked by
    ``rule``), or the fixed ``level`` when ``threshold`` is None. A value not known yet (NaN)
    never holds. With ``switch``, the signal counts only when the section's key of that name
    is true (default false).
    """

    name: str
    section: str
    indicator: type
    line: str
    feeds: tuple
    clock: str
    group: str
    threshold: str | None = None
    level: float = 0.5
    direction: str = ">="
    switch: str | None = None
    rule: Rule | None = None

    def __post_init__(self):
        for name in self.feeds:
            role(name)   # a declared role, or a one-line error naming the closest

    def holds(self, values, settings):
        """Where the signal holds (booleans), for `values` of its line."""
        level = settings[self.section][self.threshold] if self.threshold else self.level
        with np.errstate(invalid="ignore"):
            return COMPARE[self.direction](np.asarray(values, dtype=float), level)

    def active(self, settings):
        return self.switch is None or bool(settings[self.section][self.switch])


SIGNALS = (
    Signal("small_cap", "small_cap", SmallCapBreakout, "risk_on", ("small_cap",), EQUITY, BACKGROUND),
    Signal("rotation", "rotation", SmallVsLargeCap, "strength", ("small_cap", "large_cap"), EQUITY, BACKGROUND,
           threshold="min_strength", level=0.0, direction=">", switch="use", rule=RELATIVE),
    Signal("eth_trend", "eth_btc", EthBtcStrength, "trend", ("eth", "btc"), CRYPTO, ETH_STRENGTH,
           threshold="min_trend", level=0.0, direction=">", rule=RELATIVE),
    Signal("eth_momentum", "eth_btc", EthBtcStrength, "momentum", ("eth", "btc"), CRYPTO, ETH_STRENGTH,
           threshold="min_momentum", level=0.0, direction=">", rule=RELATIVE),
    Signal("failed_breakouts", "failed_breakouts", FailedBreakoutRate, "rate", ("alts",), CRYPTO, BREADTH,
           threshold="max_rate", level=0.5, direction="<=", rule=Rule(lambda v: 0 <= v <= 1, "in [0, 1]", space=[0.3, 0.5, 0.7])),
    Signal("alt_volume", "alt_volume", AltVolumeHold, "hold", ("btc", "alts"), CRYPTO, BREADTH,
           threshold="min_hold", level=1.0, direction=">=", rule=Rule(lambda v: v >= 0, "not negative", space=[0.8, 1.0, 1.2])),
)


def registry():
    """The declared signals (read at each use, so a test may add one)."""
    return SIGNALS


def sections(signals=None):
    """{section: (indicator class, [its signals])}, in declaration order."""
    out = {}
    for s in signals or registry():
        cls, members = out.setdefault(s.section, (s.indicator, []))
        if cls is not s.indicator:
            raise TypeError(f"section '{s.section}' is declared with two indicators")
        members.append(s)
    return out


def defaults(signals=None):
    """{section: {key: default}}: every parameter of the filter. The indicators' own
    parameters come from their classes; thresholds and switches from the declarations."""
    out = {}
    for section, (cls, members) in sections(signals).items():
        keys = {s.switch: False for s in members if s.switch}
        keys.update(cls.params._getitems())
        keys.update({s.threshold: s.level for s in members if s.threshold})
        out[section] = keys
    out.update({section: {k: default for k, (default, _) in keys.items()} for section, keys in GROUP_SETTINGS.items()})
    return out


def schema(signals=None):
    """{section: {key: Rule, its ``kind`` the accepted type(s)}}: how [filter.<section>] values
    are checked, in a configuration and in a Python call alike. The indicators' parameters by
    their classes' ``param_rules`` (`canary.params.param_schema`), thresholds by the declared
    ``rule``, switches as booleans."""
    out = {}
    for section, (cls, members) in sections(signals).items():
        keys = {s.switch: Rule(None, kind=bool, space=[False, True]) for s in members if s.switch}
        keys.update(param_schema(cls))
        keys.update({s.threshold: (s.rule or Rule(None))._replace(kind=float) for s in members if s.threshold})
        out[section] = keys
    for section, keys in GROUP_SETTINGS.items():
        out[section] = {k: rule._replace(kind=type(default)) for k, (default, rule) in keys.items()}
    return out


def resolve(given=None, signals=None, source="filter"):
    """The complete settings: `given` ({section: {key: value}}, any part) over the defaults.
    An unknown section or key, or a value its rule refuses (`schema`), is a ParameterError
    naming it, with the closest right one."""
    out = defaults(signals)
    rules = schema(signals) if given else {}
    for section, values in (given or {}).items():
        if section not in out:
            raise ParameterError(f"{source}: unknown section '{section}'{suggest(section, out)}")
        for key, value in (values or {}).items():
            if key not in out[section]:
                raise ParameterError(f"{source}.{section}: unknown parameter '{key}'{suggest(key, out[section])}")
            out[section][key] = check_value(f"{source}.{section}.{key}", rules[section][key], value)
    return out


def indicator_params(section, settings, signals=None):
    """The keyword arguments of the section's indicator (its thresholds and switch left out)."""
    cls, _ = sections(signals)[section]
    return {k: settings[section][k] for k in cls.params._getkeys()}


def classify(values, settings, signals=None):
    """The regime at each crypto bar close, from the signals' values.

    `values`: {signal name: array on the crypto clock} (equity signals already read as of
    each crypto bar close); `settings`: from `resolve`. Returns arrays (float):
    ``regime`` (0 risk-off, 1 btc, 2 eth, 3 alts), ``background`` and ``eth_strong`` (1/0),
    ``breadth`` (the number of breadth signals that hold). Works on arrays of any shape.
    """
    signals = signals or registry()
    shape = np.shape(next(iter(values.values()))) if values else ()
    held = {g: [] for g in GROUPS}
    for s in signals:
        if s.active(settings):
            held[s.group].append(s.holds(values[s.name], settings))
    background = np.logical_and.reduce(held[BACKGROUND]) if held[BACKGROUND] else np.ones(shape, bool)
    eth_strong = np.logical_and.reduce(held[ETH_STRENGTH]) if held[ETH_STRENGTH] else np.ones(shape, bool)
    breadth = np.sum(held[BREADTH], axis=0) if held[BREADTH] else np.zeros(shape, int)
    regime = np.where(~background, RISK_OFF,
                      np.where(~eth_strong, BTC, np.where(breadth >= settings["breadth"]["needed"], ALTS, ETH)))
    return (regime.astype(float), background.astype(float), eth_strong.astype(float),
            np.asarray(breadth, dtype=float))


def function_inputs(indicator, feeds, arrays):
    """The arrays `indicator.function` takes, from `arrays` ({role: {field: array}}) and the
    roles `feeds` it is fed: per feed, the fields of ``indicator.inputs``."""
    out = []
    for name, fields in zip(feeds, indicator.inputs, strict=True):
        for field in (fields,) if isinstance(fields, str) else fields:
            out.append(arrays[name][field])
    return out


def evaluate(arrays, given=None, interval=None, signals=None, cache=None):
    """The signals and the regime on whole-history arrays, as the Backtrader path computes them.

    `arrays`: {role: {field: array}} for the declared roles (`canary.feeds.roles.ROLES`): ``"close"``, ``"volume"`` and
    ``"datetime"`` (close instants in one unit for every role, e.g. Backtrader day numbers
    from `canary.feeds.btfeeds.bt_datetimes`); crypto roles on the master crypto clock (the
    basket ``"alts"`` as bars x coins), equity roles on their session clock. `given`: filter
    settings (see `resolve`). `interval`: the crypto bar interval (a pandas Timedelta), to
    turn windows given as durations into bars. `cache`: a dict reused across calls to
    compute an indicator once per distinct parameters (in bars). Returns {name: array on the crypto clock} for every
    signal and ``regime``, ``background``, ``eth_strong``, ``breadth``.
    """
    signals = signals or registry()
    settings = resolve(given, signals)
    cache = {} if cache is None else cache
    crypto_time = np.asarray(arrays["btc"]["datetime"], dtype=float)
    values = {}
    for section, (cls, members) in sections(signals).items():
        params = indicator_params(section, settings, signals)
        if getattr(cls, "windows", ()):
            if interval is None and any(not isinstance(params[w], int) for w in cls.windows):
                raise ConfigError(f"{section}: windows given as durations need the bar interval")
            params = in_bars(cls, params, interval)
        key = (section, tuple(sorted(params.items())))
        if key not in cache:
            lines = cls.function(*function_inputs(cls, members[0].feeds, arrays), **params)
            cache[key] = dict(zip(cls.lines._getlines(), lines, strict=True))
        for s in members:
            line = cache[key][s.line]
            if s.clock == EQUITY:
                pos = known_at(np.asarray(arrays[s.feeds[0]]["datetime"], dtype=float), crypto_time)
                line = np.where(pos >= 0, line[np.maximum(pos, 0)], np.nan) if len(line) else np.full(len(pos), np.nan)
            values[s.name] = line
    regime, background, eth_strong, breadth = classify(values, settings, signals)
    return dict(values, regime=regime, background=background, eth_strong=eth_strong, breadth=breadth)
