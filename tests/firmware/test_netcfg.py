import os

from hushword import netcfg

PATH = "_test_wifi.json"


def _rm():
    for p in (PATH, PATH + ".tmp"):
        try:
            os.remove(p)
        except OSError:
            pass


def test_roundtrip_and_validation():
    _rm()
    try:
        assert netcfg.load(PATH) is None
        netcfg.save("home", "secret pw", PATH)
        assert netcfg.load(PATH) == {"ssid": "home", "password": "secret pw"}
        for bad in (("", "x"), ("x" * 65, "x"), ("ok", "y" * 65), (3, "x"), ("ok", None)):
            try:
                netcfg.save(bad[0], bad[1], PATH)
            except ValueError:
                pass
            else:
                raise AssertionError("accepted %r" % (bad,))
        assert netcfg.load(PATH)["ssid"] == "home"  # a refused save keeps the old file
    finally:
        _rm()


def test_corrupt_file_reads_as_unset():
    _rm()
    try:
        with open(PATH, "w") as f:
            f.write('{"ssid": "ho')
        assert netcfg.load(PATH) is None
        with open(PATH, "w") as f:
            f.write('{"ssid": 5, "password": "x"}')
        assert netcfg.load(PATH) is None
    finally:
        _rm()
