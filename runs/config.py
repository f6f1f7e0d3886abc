"""Run configurations: TOML files, validated before any work.

Every key has a type and a rule; an unknown key, a wrong type or an impossible value is a
ConfigError naming the key (with the closest right key for a misspelling). ``--set
section.key=value`` overrides go through the same checks.

[strategy] names a strategy class (``class = "package.module:ClassName"``, any importable
Backtrader strategy) and its parameters, whose keys, types and defaults are those of the
class's ``params`` (`canary.params.param_schema`).

A configuration is checked as a tree of dicts, as TOML reads it, and is then a `RunConfig`
(`canary.runs.settings`): typed, frozen, and checked once.
"""
import copy
import dataclasses
import datetime
import difflib
import tomllib
from pathlib import Path

from canary.errors import ConfigError, suggest
from canary.feeds.pointintime import BasketKeys
from canary.feeds.roles import declared, role_names
from canary.feeds.sources import parse_source
from canary.indicators import signals
from canary.params import Rule, check_value, field_rules, names, param_defaults, param_schema
from canary.strategies.classpath import DEFAULT_STRATEGY, load_strategy
from canary.strategies.costs import Costs
from canary.strategies.engine import ENGINE_PARAMS
from canary.strategies.rotation import SmallCapRotation

from .settings import SECTION_RULES, RunConfig, plain
from .tune.search_space import expand_auto, has_auto, parse_space

DEFAULT_CONFIG = Path(__file__).resolve().parent / "default.toml"


def universe_schema():
    """[universe]: one key per declared role (`canary.feeds.roles.ROLES`), a symbol, or a list
    of symbols for a role of many series; then the point-in-time keys (`BasketKeys`)."""
    return dict({r.name: Rule(names, "a list of symbols", list) if r.many
                 else Rule(bool, "a symbol", str) for r in declared()}, **field_rules(BasketKeys))


def universe_defaults():
    """[universe] as the declared roles' default symbols, and the point-in-time defaults."""
    return dict({r.name: list(r.default) if r.many else r.default[0] for r in declared()},
                **{k: plain(v) for k, v in dataclasses.asdict(BasketKeys()).items()})


TUNABLE = ("filter", "strategy")  # the thresholds; data, universe and costs stay as configured, but for:
TUNABLE_KEYS = ("universe.alts_top",)   # the size of a point-in-time basket (one market per value)

# section -> key -> its Rule
SCHEMA = {
    "data": SECTION_RULES["data"],
    # symbol -> where its bars come from: "shipped" (the data folder), "yfinance", "ccxt",
    # "ccxt:<exchange>" (from the cache of `canary data fetch`). Keys are symbols, not fixed.
    "sources": {},
    # one key per declared role: `universe_schema`, read at each use (see `section_schema`)
    "universe": {},
    # The class's own parameters are checked against its params (`strategy_section`).
    "strategy": {
        "class": Rule(bool, "a class path, package.module:ClassName", str),
    },
    "costs": SECTION_RULES["costs"],
    # `canary tune`; [tune.space] (the keys tried and their values) is checked by runs.tune.search_space
    "tune": SECTION_RULES["tune"],
}
SECTIONS = (*SCHEMA, "filter")   # [filter] is checked against the declared signals (filter_schema)


def section_schema(section):
    """{key: Rule} of a section of SCHEMA; [universe]'s keys are the
    declared roles (`universe_schema`)."""
    return universe_schema() if section == "universe" else SCHEMA[section]

# The flat [filter] keys of earlier versions -> their key now.
MOVED = {
    "mode": "small_cap.mode", "level": "small_cap.level", "period": "small_cap.period",
    "distance": "small_cap.distance", "confirm": "small_cap.confirm", "hysteresis": "small_cap.hysteresis",
    "use_rotation": "rotation.use", "rotation_period": "rotation.period", "min_rotation": "rotation.min_strength",
    "eth_period": "eth_btc.period", "eth_momentum_period": "eth_btc.momentum_period",
    "min_eth_trend": "eth_btc.min_trend", "min_eth_momentum": "eth_btc.min_momentum",
    "breakout_period": "failed_breakouts.period", "breakout_horizon": "failed_breakouts.horizon",
    "breakout_window": "failed_breakouts.window", "max_failed_rate": "failed_breakouts.max_rate",
    "sideways_period": "alt_volume.sideways_period", "sideways_band": "alt_volume.sideways_band",
    "volume_lookback": "alt_volume.lookback", "volume_window": "alt_volume.window",
    "min_volume_hold": "alt_volume.min_hold", "breadth_needed": "breadth.needed",
}


def filter_schema():
    """[filter.<section>] -> key -> Rule: from the declared signals and their
    indicators' params (canary.indicators.signals.schema)."""
    return signals.schema()


def check_key(key, rule, value):
    """`value` of configuration key `key` as the configuration holds it, checked against its
    `Rule`, or the ConfigError naming the key."""
    if rule.kind is str and isinstance(value, (datetime.date, datetime.time)):
        value = value.isoformat()  # TOML reads a bare 2020-01-01 as a date
    if key == "tune.space":
        parse_space(value, auto=True)   # "auto" ranges: from the declarations, once the class is known (`validate`)
    return check_value(key, rule, value)


def _check_source(symbol, value):
    if not isinstance(value, str):
        raise ConfigError(f"sources.{symbol}: expected str, got {type(value).__name__} {value!r}")
    try:
        parse_source(value)
    except ConfigError as exc:
        raise ConfigError(f"sources.{symbol}: {exc}") from None
    return value


def strategy_section(values):
    """[strategy] checked against its class: ``class`` (the rotation if not given), then each
    of the class's parameters, as given or its default."""
    path = values.get("class", DEFAULT_STRATEGY)
    cls = load_strategy(path)
    schema = param_schema(cls, skip=ENGINE_PARAMS + tuple(SECTION_PARAMS))
    out = {"class": path}
    for key, value in values.items():
        if key == "class":
            continue
        if key not in schema:
            hint = suggest(key, schema) or f" (it takes: {', '.join(schema) or 'no parameters'})"
            raise ConfigError(f"strategy.{key}: unknown parameter of {cls.__name__}{hint}")
        out[key] = check_key(f"strategy.{key}", schema[key], value)
    for key, default in param_defaults(cls, skip=ENGINE_PARAMS + tuple(SECTION_PARAMS)).items():
        out.setdefault(key, default)
    return out


def validate(config, source="configuration", space=True):
    """The `RunConfig` of `config` (a dict of sections, as TOML reads it; a key it omits takes
    its default), or a ConfigError naming the key (with `space`, [tune.space] is checked
    against it too)."""
    return RunConfig.of(checked_tree(config, source, space))


def checked_tree(config, source="configuration", space=True):
    """A checked copy of `config` (a dict of sections) with every key, as `validate` checks it."""
    out = validate_partial(config, source)
    out["strategy"] = strategy_section(out.get("strategy", {}))
    missing = [s for s in SECTIONS if s not in out]
    missing += [f"{s}.{k}" for s in SCHEMA for k in section_schema(s) if k not in out.get(s, {})]
    missing += [f"filter.{s}.{k}" for s, keys in filter_schema().items() for k in keys
                if k not in out.get("filter", {}).get(s, {})]
    if missing and source == str(DEFAULT_CONFIG):   # the shipped defaults themselves lack a key: a bug
        raise ConfigError(f"{source}: missing key {missing[0]}")
    if missing:   # a configuration may omit any key: it takes the default
        return checked_tree(with_defaults(config)[0], source, space)
    data = out["data"]
    if data["start"] and data["end"] and data["start"] >= data["end"]:
        raise ConfigError(f"data.start {data['start']} is not before data.end {data['end']} "
                          "(give both --start and --end)")
    given = [(name, s) for name, value in out["universe"].items() if name in role_names()
             for s in ([value] if isinstance(value, str) else value)]
    symbols = [s for _, s in given]
    repeated = sorted({s for s in symbols if symbols.count(s) > 1})
    if repeated:
        where = [name for name, s in given if s == repeated[0]]
        raise ConfigError(f"universe: {repeated[0]} appears twice ({' and '.join(where)}): each symbol plays one role")
    tune = out["tune"]
    if has_auto(tune["space"]):
        tune["space"] = expand_auto(tune["space"], search_ranges(out["strategy"]["class"]))
    if tune["scheme"] == "split" and not tune["split"]:
        raise ConfigError(f"{source}: tune.scheme = \"split\" needs tune.split (a date)")
    if space:
        check_space(out)
    return out


def declared_rules(cls):
    """{'section.key': Rule} of every [filter] parameter and of every [strategy] parameter of
    `cls`: what a value of each is checked by, and its default search range."""
    out = {f"filter.{s}.{k}": rule for s, keys in filter_schema().items() for k, rule in keys.items()}
    out.update({f"strategy.{k}": rule for k, rule in param_schema(cls, skip=ENGINE_PARAMS + tuple(SECTION_PARAMS)).items()})
    return out


def search_ranges(path):
    """{'section.key': its declared default search range (`canary.params.Rule.space`), or None}
    of the [filter] keys and of the parameters of the strategy class at `path`."""
    return {key: rule.space for key, rule in declared_rules(load_strategy(path)).items()}


def _set_values(tree, values):
    """A copy of a configuration tree with `values` ({'section.key': value}) set."""
    out = copy.deepcopy(tree)
    for key, value in values.items():
        *path, name = key.split(".")
        table = out
        for part in path:
            table = table[part]
        table[name] = value
    return out


def with_values(config, values, source="tune.space", space=True):
    """A `RunConfig` of `config` (one) with `values` ({'section.key': value}) set, all checked."""
    return validate(_set_values(config.as_dict(), values), source, space)


def check_space(config):
    """Every key of [tune.space] is a tunable key of this configuration (a checked tree), and
    every value listed (or each end of a range) is a value it accepts."""
    for dim in parse_space(config["tune"]["space"]):
        *path, name = dim.key.split(".")
        table, where = config, []
        for part in path:
            if where == [] and part not in TUNABLE and dim.key not in TUNABLE_KEYS:
                raise ConfigError(f"tune.space.{dim.key}: only [{'] and ['.join(TUNABLE)}] keys and "
                                  f"{', '.join(TUNABLE_KEYS)} can be tuned"
                                  f"{suggest(dim.key, TUNABLE_KEYS) or suggest(part, TUNABLE)}")
            if not isinstance(table.get(part), dict):
                raise ConfigError(f"tune.space.{dim.key}: no section {'.'.join(where + [part])}"
                                  f"{suggest(part, [k for k, v in table.items() if isinstance(v, dict)])}")
            table, where = table[part], where + [part]
        if not path or name not in table or isinstance(table[name], dict):
            raise ConfigError(f"tune.space.{dim.key}: unknown key{suggest(name, table if path else TUNABLE)}")
        for value in dim.values if dim.values is not None else (dim.low, dim.high):
            try:
                checked_tree(_set_values(config, {dim.key: value}), "tune.space", space=False)
            except ConfigError as exc:
                said = str(exc).split(f"{dim.key}: ", 1)[-1]
                raise ConfigError(f"tune.space.{dim.key}: {said}") from None


def read_toml(path):
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a configuration file (give a .toml file)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text at byte {exc.start}; save it as UTF-8 TOML") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def parse_override(text):
    """'section.key=value' -> (section, key, value), the value read as TOML (bare words as strings)."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise ConfigError(f"--set {text}: expected section.key=value, e.g. filter.small_cap.confirm=5")
    dotted, raw = text.split("=", 1)
    section, key = dotted.strip().split(".", 1)
    key = key.strip().strip('"')  # sources."^RUT"=... quotes a symbol as TOML would
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return section, key, value


def as_tree(section, key, value):
    """One setting as a configuration tree: 'filter' keys name their subsection
    ('small_cap.confirm' -> {'filter': {'small_cap': {'confirm': value}}})."""
    if section == "filter" and "." in key:
        sub, name = key.split(".", 1)
        return {section: {sub: {name: value}}}
    return {section: {key: value}}


def merge(config, section, values):
    """`values` set into `config[section]` key by key; in [filter], key by key within each
    indicator's table (other tables, such as tune.space, are replaced whole)."""
    target = config.setdefault(section, {})
    for key, value in values.items():
        if section == "filter" and isinstance(value, dict) and isinstance(target.get(key), dict):
            target[key].update(copy.deepcopy(value))
        else:
            target[key] = copy.deepcopy(value)


def with_defaults(config):
    """(`config` with every key it lacks set to today's default, the keys so set as
    'section.key'): a configuration recorded by an earlier version, which had fewer keys.
    [strategy] is left to its class's defaults (`strategy_section`)."""
    defaults = load_config().as_dict()
    out, added = copy.deepcopy(config), []

    def fill(given, default, where):
        for key, value in default.items():
            if key not in given:
                given[key] = copy.deepcopy(value)
                added.append(where + key)
            elif isinstance(value, dict) and isinstance(given[key], dict):
                fill(given[key], value, f"{where}{key}.")

    for section, values in defaults.items():
        if section == "strategy":
            continue
        if section not in out:
            out[section] = copy.deepcopy(values)
            added.append(section)
        elif isinstance(out[section], dict):
            fill(out[section], values, f"{section}.")
    return out, added


def declared_defaults():
    """The defaults the classes declare: [universe] (the roles, `canary.feeds.roles`), [filter]
    (the indicators and signals), [strategy] (the shipped class's params), [costs] (`Costs`)."""
    cls = load_strategy(DEFAULT_STRATEGY)
    return {"universe": universe_defaults(), "filter": signals.defaults(), "costs": dataclasses.asdict(Costs()),
            "strategy": dict({"class": DEFAULT_STRATEGY}, **param_defaults(cls, skip=ENGINE_PARAMS + tuple(SECTION_PARAMS)))}


def load_config(path=None, overrides=(), settings=()):
    """The default configuration, the file at `path` on top of it, then `overrides`
    ('section.key=value' texts), then `settings` ((section, key, value) from command-line
    flags); validated. A user's file may give only the keys it changes.
    """
    config = declared_defaults()
    for section, values in read_toml(DEFAULT_CONFIG).items():   # default.toml documents every key, and overrides
        merge(config, section, values)
    source = str(DEFAULT_CONFIG)
    layers = []
    if path is not None:
        source = str(path)
        user = read_toml(path)
        _paths_beside(user, Path(path).parent)
        layers.append((user, source))
    layers += [(as_tree(section, key, value), f"--set {text}") for text in overrides
               for section, key, value in [parse_override(text)]]
    layers += [(as_tree(section, key, value), FLAGS.get((section, key), f"{section}.{key}"))
               for section, key, value in settings]
    strategy = {}  # the [strategy] keys the user gave
    for layer, where in layers:
        validate_partial(layer, where)
        for section, values in layer.items():
            if section == "strategy":
                strategy.update(values)
            else:
                merge(config, section, values)
    # The shipped [strategy] keys are those of the shipped class: another class starts from its own defaults.
    if strategy.get("class", config["strategy"]["class"]) == config["strategy"]["class"]:
        strategy = dict(config["strategy"], **strategy)
    config["strategy"] = strategy
    return validate(config, source)


FLAGS = {("data", "start"): "--start", ("data", "end"): "--end", ("data", "folder"): "--data"}


def _beside(paths, folder):
    """`paths` (one or a list) with each relative one read from `folder` (and ~ expanded)."""
    def one(p):
        p = Path(p).expanduser()
        return str(p if p.is_absolute() else folder / p)

    return [one(p) for p in paths] if isinstance(paths, list) else one(paths)


def _paths_beside(user, folder):
    """Read the folders a configuration file names (data.folder, data.cache_dir) from `folder`, the file's."""
    data = user.get("data")
    if not isinstance(data, dict):
        return
    for key in ("folder", "cache_dir"):
        value = data.get(key)
        if (isinstance(value, str) and value) or (isinstance(value, list) and value
                                                   and all(isinstance(v, str) and v for v in value)):
            data[key] = _beside(value, folder)


def _key_in_a_section(name, schema):
    """' (did you mean 'filter.<section>.<key>'?)' for the keys of any section close to `name`."""
    paths = {}
    for section, keys in schema.items():
        for key in keys:
            paths.setdefault(key, []).append(f"'filter.{section}.{key}'")
    close = difflib.get_close_matches(name.lower(), list(paths), n=1, cutoff=0.6)
    return f" (did you mean {' or '.join(paths[close[0]])}?)" if close else ""


def _check_filter(values):
    schema = filter_schema()
    out = {}
    for sub, keys in values.items():
        if sub in MOVED:
            raise ConfigError(f"filter.{sub}: this key is now filter.{MOVED[sub]}")
        if sub not in schema and not isinstance(keys, dict):   # a key given without its section
            raise ConfigError(f"filter.{sub}: unknown key{_key_in_a_section(sub, schema)}")
        if sub not in schema:
            raise ConfigError(f"unknown section [filter.{sub}]{suggest(sub, schema)}")
        if not isinstance(keys, dict):
            raise ConfigError(f"[filter.{sub}] must be a table")
        out[sub] = {}
        for key, value in keys.items():
            if key not in schema[sub]:
                raise ConfigError(f"filter.{sub}.{key}: unknown key{suggest(key, schema[sub])}")
            out[sub][key] = check_key(f"filter.{sub}.{key}", schema[sub][key], value)
    return out


def _where(source, exc):
    """The message of `exc` led by where the value was given, unless it names that already."""
    return str(exc) if str(exc).startswith(source) else f"{source}: {exc}"


def validate_partial(config, source):
    """A checked copy of the sections and keys present in `config` (types and rules)."""
    if not isinstance(config, dict):
        raise ConfigError(f"{source}: not a table of sections")
    out = {}
    for section, values in config.items():
        if section not in SECTIONS:
            raise ConfigError(f"{source}: unknown section [{section}]{suggest(section, SECTIONS)}")
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: [{section}] must be a table")
        if section == "filter":
            try:
                out[section] = _check_filter(values)
            except ConfigError as exc:  # named by where it was given, as below
                raise type(exc)(_where(source, exc)) from None
            continue
        out[section] = {}
        for key, value in values.items():
            try:
                if section == "sources":
                    out[section][key] = _check_source(key, value)
                    continue
                if section == "strategy" and key != "class":
                    out[section][key] = value  # checked against the class by `strategy_section`
                    continue
                schema = section_schema(section)
                if key not in schema:
                    raise ConfigError(f"{section}.{key}: unknown key{suggest(key, schema)}")
                out[section][key] = check_key(f"{section}.{key}", schema[key], value)
            except ConfigError as exc:  # named by where it was given: the file, --set or the flag
                raise type(exc)(_where(source, exc)) from None
    return out


def regime_params(config):
    """RiskRegime settings ({section: {key: value}}): the [filter] sections, as they are."""
    return plain(config.filter)


# Strategy parameters filled from a section of their own rather than from [strategy].
SECTION_PARAMS = {"filter": regime_params}


def strategy_params(config):
    """(class, parameters) of the configured strategy: the [strategy] keys, and the parameters
    of SECTION_PARAMS the class takes (a RiskRegime's settings from [filter])."""
    cls = config.strategy.cls
    params = plain(config.strategy.params)
    for name, from_config in SECTION_PARAMS.items():
        if name in cls.params._getkeys():
            params[name] = from_config(config)
    return cls, params


def rotation_params(config):
    """SmallCapRotation parameters from the [strategy] and [filter] sections (for the commands
    that run the rotation itself, such as tuning)."""
    cls, params = strategy_params(config)
    if not issubclass(cls, SmallCapRotation):
        raise ConfigError(f"strategy.class: {config.strategy.path} is not the rotation "
                          f"(SmallCapRotation), which this command runs")
    return params
