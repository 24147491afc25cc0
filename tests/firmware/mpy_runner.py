"""Run tests/firmware/test_*.py under the MicroPython unix port (pytest runs the same files
under CPython). Usage: micropython tests/firmware/mpy_runner.py [test_file.py ...]

Test files are plain modules: functions named test_* with assert; no pytest fixtures. A test
may raise SkipTest (from tests/firmware/_compat.py) with a reason.
"""

import os
import sys

HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
sys.path.insert(0, HERE)
sys.path.insert(0, HERE + "/../../firmware")


def main():
    import gc

    from _compat import SkipTest

    files = sys.argv[1:] or sorted(
        HERE + "/" + f for f in os.listdir(HERE) if f.startswith("test_") and f.endswith(".py")
    )
    passed = failed = skipped = 0
    for path in files:
        name = path.rsplit("/", 1)[-1][:-3]
        try:
            mod = __import__(name)
        except Exception as e:
            print("ERROR importing", name)
            sys.print_exception(e)
            failed += 1
            continue
        for attr in sorted(dir(mod)):
            if not attr.startswith("test_"):
                continue
            fn = getattr(mod, attr)
            if not callable(fn):
                continue
            gc.collect()
            try:
                fn()
                passed += 1
                print("PASS", name + "." + attr)
            except SkipTest as e:
                skipped += 1
                print("SKIP", name + "." + attr, e)
            except Exception as e:
                failed += 1
                print("FAIL", name + "." + attr)
                sys.print_exception(e)
    from _compat import remove_tree

    remove_tree()
    print("micropython: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
    sys.exit(1 if failed or not passed else 0)


main()
