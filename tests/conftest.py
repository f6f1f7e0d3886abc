"""Shared test set-up: no test may reach the network, and plotting stays headless."""
import socket

import matplotlib
import pytest

matplotlib.use("Agg")


class NetworkAccessError(AssertionError):
    pass


LOOPBACK = (None, "", "127.0.0.1", "::1", "localhost")


def _host(address):
    return address[0] if isinstance(address, tuple) else address


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Fail loudly if anything tries to open a network connection (this machine's loopback
    interface is allowed: the Dask test runs a scheduler and workers on 127.0.0.1)."""
    real = {name: getattr(socket.socket, name) for name in ("connect", "connect_ex")}
    real_create, real_getaddrinfo = socket.create_connection, socket.getaddrinfo

    def refuse(what, *args, **kwargs):
        raise NetworkAccessError(f"a test tried to reach the network: {what} {args or kwargs}")

    def guard(name, fn, first):
        def checked(*args, **kwargs):
            if _host(args[first]) in LOOPBACK:
                return fn(*args, **kwargs)
            refuse(name, *args[first:], **kwargs)
        return checked

    monkeypatch.setattr(socket.socket, "connect", guard("connect", real["connect"], 1))
    monkeypatch.setattr(socket.socket, "connect_ex", guard("connect_ex", real["connect_ex"], 1))
    monkeypatch.setattr(socket, "create_connection", guard("create_connection", real_create, 0))
    monkeypatch.setattr(socket, "getaddrinfo", guard("getaddrinfo", real_getaddrinfo, 0))


def pytest_addoption(parser):
    parser.addoption("--draws", type=int, default=24, help="random configurations of the engine-parity "
                     "property test (tests/test_screening_parity.py); the first 6 run unless -m slow")


@pytest.fixture(scope="session")
def default_run(tmp_path_factory):
    """The README's `canary run` (the default configuration on the shipped data, tear sheet
    included), run once per test process: (its clirun.Result, its run folder)."""
    from clirun import main

    out = tmp_path_factory.mktemp("default")
    result = main("run", "--out", out, "--name", "default")
    assert result.returncode == 0, result.stderr
    return result, out / "default"


@pytest.fixture(scope="session")
def readme_runs(tmp_path_factory):
    """Every `canary` command of README.md, run once in process from a fresh folder:
    (the folder, {command: result}). Minutes of work: only tests marked slow use it."""
    from readme_commands import run_all

    workdir = tmp_path_factory.mktemp("readme")
    return workdir, run_all(workdir)
