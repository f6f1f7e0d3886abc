"""A run's configuration as typed, frozen values: what `canary.runs.config` makes of a TOML
file, command-line flags and ``--set`` overrides once every key is checked.

`RunConfig` holds one attribute per TOML table. The sections with fixed keys are dataclasses
whose fields declare each key's type and rule (`canary.params.setting`): [data]
(`DataSettings`), [costs] (`canary.strategies.costs.Costs`) and [tune] (`TuneSettings`). The
sections whose keys are declared elsewhere are read-only `Table`s: [sources] (symbols),
[universe] (the declared roles and the point-in-time keys) and [filter] (a Table per
indicator of the declared signals). [strategy] is a class path and a Table of the class's own
params (`StrategySettings`).

Dataclasses rather than pydantic: the rules are `canary.params.Rule`s that the indicator and
strategy classes declare, which the [filter] and [strategy] checks read. A second schema language
would state them twice, and pydantic would be a dependency of the core. Frozen, so a trial's
configuration is a copy with a few fields replaced (`RunConfig.with_checked`, microseconds), and
no code can change the configuration another part of a run reads. `as_dict` gives the plain
nested dict that TOML spells, which manifests, tune.json and tuning.json record.
"""
import dataclasses
import datetime
from collections.abc import Mapping

from canary.params import field_rules, name_or_names, setting
from canary.strategies.classpath import load_strategy
from canary.strategies.costs import Costs

from .tune.objectives import OBJECTIVES
from .tune.search_space import METHODS, parse_space
from .tune.walkforward import days_in


class Table(Mapping):
    """A read-only table of a configuration: its keys in the order given, its values frozen
    (tables as Tables, lists as tuples). Compared and hashed by value."""

    __slots__ = ("_items",)

    def __init__(self, items=()):
        self._items = dict(items)

    def __getitem__(self, key):
        return self._items[key]

    def __iter__(self):
        return iter(self._items)

    def __len__(self):
        return len(self._items)

    def __hash__(self):
        return hash(frozenset(self._items.items()))

    def __repr__(self):
        return f"Table({self._items!r})"

    def __reduce__(self):
        return Table, (self._items,)


def frozen(value):
    """A checked configuration value made read-only: tables as `Table`s, lists as tuples."""
    if isinstance(value, (str, int, float)):   # most values, before the slower Mapping check
        return value
    if isinstance(value, Mapping):
        return Table((k, frozen(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return tuple(frozen(v) for v in value)
    return value


def plain(value):
    """A frozen value as TOML and JSON spell it: Tables as dicts, tuples as lists (what a
    configuration file gives, and what an indicator or strategy is handed)."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _positive_int(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


def _date_or_empty(v):
    if v == "":
        return True
    try:
        datetime.date.fromisoformat(v)
        return True
    except ValueError:
        return False


def _instant_or_empty(v):
    if v == "":
        return True
    try:
        datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


SCHEMES = ("split", "walk-forward", "cscv")
ENGINES = ("fast", "backtrader")
DTYPES = ("float64", "float32")   # of the tuning's return matrix: float32 takes half the memory
WINDOWS = ("rolling", "anchored")


@dataclasses.dataclass(frozen=True)
class DataSettings:
    """[data]: where the prices come from and which bars a run uses. The values are those of
    default.toml unless a configuration gives its own."""

    folder: str | tuple = setting((str, list), name_or_names, "a folder or a list of folders")
    start: str = setting(str, _date_or_empty, "a date (YYYY-MM-DD) or empty")
    end: str = setting(str, _date_or_empty, "a date (YYYY-MM-DD) or empty")
    recorded_at: str = setting(str, _instant_or_empty, "an ISO date or time (UTC if no offset), or empty")
    cache_dir: str = setting(str)
    currency: str = setting(str)

    @property
    def folders(self):
        """The folders given (none: the shipped data)."""
        return [f for f in ((self.folder,) if isinstance(self.folder, str) else self.folder) if f]


@dataclasses.dataclass(frozen=True)
class TuneSettings:
    """[tune]: how `canary tune` searches, scores and judges its trials. The values are those
    of default.toml unless a configuration gives its own; ``space`` is [tune.space], the keys
    tried and their values (`dimensions`)."""

    method: str = setting(str, choices=METHODS)
    count: int = setting(int, _positive_int, "a whole number >= 1")
    seed: int = setting(int, lambda v: v >= 0, "a whole number >= 0")
    batch: int = setting(int, _positive_int, "a whole number >= 1")
    objective: str = setting(str, choices=OBJECTIVES)
    max_drawdown: float = setting(float, lambda v: 0 <= v < 1, "0 (no limit) or a fraction below 1")
    scheme: str = setting(str, choices=SCHEMES)
    split: str = setting(str, _date_or_empty, "a date (YYYY-MM-DD)")
    window: str = setting(str, choices=WINDOWS)
    train: str = setting(str, days_in, "a number of days, weeks or years: 730d, 104w, 2y")
    test: str = setting(str, days_in, "a number of days, weeks or years: 180d, 26w, 1y")
    step: str = setting(str, lambda v: v == "" or days_in(v), "a number of days, weeks or years, or empty (= test)")
    blocks: int = setting(int, lambda v: v >= 2 and v % 2 == 0, "an even number >= 2")
    rerun: int = setting(int, lambda v: v >= 0, "a whole number >= 0")
    engine: str = setting(str, choices=ENGINES)
    reps: int = setting(int, lambda v: v >= 100, "a whole number >= 100")
    dtype: str = setting(str, choices=DTYPES)
    space: Table = setting(dict)

    @property
    def dimensions(self):
        """[tune.space] as `runs.tune.search_space.Dimension`s, in the order given."""
        return parse_space(plain(self.space))


@dataclasses.dataclass(frozen=True)
class StrategySettings:
    """[strategy]: the class run (``class = "package.module:ClassName"``, `path`) and its own
    parameters, every one the class declares (`params`: as given, or its default)."""

    path: str
    params: Table

    @property
    def cls(self):
        return load_strategy(self.path)


# the keys of the sections with fixed keys, from their fields
SECTION_RULES = {"data": field_rules(DataSettings), "costs": field_rules(Costs), "tune": field_rules(TuneSettings)}


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """A checked run configuration, one attribute per section (see the module's docstring)."""

    data: DataSettings
    sources: Table
    universe: Table
    strategy: StrategySettings
    filter: Table
    costs: Costs
    tune: TuneSettings

    @classmethod
    def of(cls, tree):
        """The RunConfig of a checked configuration tree ({section: {key: value}}, every key present)."""
        strategy = tree["strategy"]
        return cls(DataSettings(**frozen(tree["data"])), frozen(tree["sources"]), frozen(tree["universe"]),
                   StrategySettings(strategy["class"], frozen({k: v for k, v in strategy.items() if k != "class"})),
                   frozen(tree["filter"]), Costs(**tree["costs"]), TuneSettings(**frozen(tree["tune"])))

    def as_dict(self):
        """The configuration as a nested dict of sections, as a TOML file spells it."""
        def section(value):
            if isinstance(value, StrategySettings):
                return dict({"class": value.path}, **plain(value.params))
            if dataclasses.is_dataclass(value):
                return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
            return plain(value)

        return {f.name: section(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def value(self, key):
        """The value of a 'section.key' (a [filter] key: 'filter.<indicator>.<key>')."""
        section, *path = key.split(".")
        table = getattr(self, section)
        if isinstance(table, StrategySettings):
            table = table.params
        for part in path:
            table = table[part] if isinstance(table, Mapping) else getattr(table, part)
        return table

    def with_checked(self, values):
        """A copy with `values` ({'section.key': value}, each already checked against its rule,
        as `runs.tune.trial_values.TrialValues` checks them) set; the rest is shared."""
        changes = {}
        for key, value in values.items():
            *path, name = key.split(".")
            table = changes
            for part in path:
                table = table.setdefault(part, {})
            table[name] = frozen(value)
        return _changed(self, changes)


def _changed(section, changes):
    """`section` (the RunConfig, a section's dataclass, the strategy or a Table) with `changes`
    set: {name: value, or a dict of changes within that name's table}."""
    if isinstance(section, StrategySettings):
        return dataclasses.replace(section, params=_changed(section.params, changes))
    table = isinstance(section, Table)
    new = {name: _changed(section[name] if table else getattr(section, name), value) if isinstance(value, dict)
           else value for name, value in changes.items()}
    return Table({**section._items, **new}) if table else dataclasses.replace(section, **new)
