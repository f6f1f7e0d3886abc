"""The user strategy of the README (`<!-- user-plan-example -->`), as a module `my_plans` the
tests can import: its source is the README's, so the documented example is what is tested."""
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_plan():
    """The Python source of the README's user plan example."""
    text = README.read_text().split("<!-- user-plan-example", 1)[1]
    return text.split("```python\n", 1)[1].split("```", 1)[0]


def install(folder, extra=""):
    """Write `my_plans.py` (the README's example, then `extra`) into `folder`, import it and
    return it; `uninstall(folder)` undoes it."""
    (folder / "my_plans.py").write_text(readme_plan() + extra)
    sys.path.insert(0, str(folder))
    import my_plans

    return my_plans


def uninstall(folder):
    sys.path.remove(str(folder))
    sys.modules.pop("my_plans", None)
