"""Shared test set-up: no test may reach the network, and plotting stays headless."""
import socket

import matplotlib
import pytest

matplotlib.use("Agg")


class NetworkAccessError(AssertionError):
    pass


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Fail loudly if anything tries to open a network connection."""

    def refuse(*args, **kwargs):
        raise NetworkAccessError(f"a test tried to reach the network: {args[1:] or kwargs}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture(scope="session")
def readme_runs(tmp_path_factory):
    """Every `canary` command of README.md, run once in process from a fresh folder:
    (the folder, {command: result}). Other tests read the outputs of `canary run` from it."""
    from readme_commands import run_all

    workdir = tmp_path_factory.mktemp("readme")
    return workdir, run_all(workdir)
