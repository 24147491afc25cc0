import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent.parent / "firmware"))


def pytest_sessionfinish(session, exitstatus):
    from _compat import remove_tree

    remove_tree()
