"""Every `canary` command shown in README.md runs (but `data fetch`, which needs the network),
exits 0 and prints its table; where the README shows the output, the program prints it."""
import pytest
from readme_commands import readme_commands

COMMANDS = readme_commands()
# what each kind of command prints: its table (or its one answer)
PRINTS = {"run": "final_value", "compare": "btc_eth_50_50_monthly", "tune": "OUT OF SAMPLE", "data list": "BTC-USDT",
          "data verify": "files verified", "--version": "smallcap-canary", "study": "outputs:",
          "now": "regime at", "paper status": "forward record", "paper": "fill(s)"}


def test_the_readme_shows_the_commands_a_user_needs():
    commands = [c for c, _ in COMMANDS]
    for needed in ("canary run", "canary compare", "canary data list", "canary data verify"):
        assert needed in commands
    assert any(c.startswith("canary tune ") for c in commands)
    assert any("--replay" in c for c in commands)


@pytest.mark.slow
@pytest.mark.parametrize("command, expected", COMMANDS, ids=[c for c, _ in COMMANDS])
def test_readme_command_runs_and_prints_what_the_readme_shows(readme_runs, command, expected):
    _, results = readme_runs
    result = results[command]
    assert result.returncode == 0, (command, result.stderr)
    assert "Traceback" not in result.stderr
    kind = next(k for k in PRINTS if command.removeprefix("canary ").startswith(k))
    assert PRINTS[kind] in result.stdout, result.stdout
    printed = [line.rstrip() for line in result.stdout.splitlines()]
    at = 0
    for line in expected:  # the README's lines, in its order, digit for digit
        assert line in printed[at:], f"README shows {line!r}; {command} printed:\n{result.stdout}"
        at = printed.index(line, at) + 1
