import json

import pytest

from host_tools import bench, cli
from host_tools.demo import start_sim


def test_bench_json_reports_all_figures(capsys, tmp_path):
    rc = cli.main(["bench", "--json", "--seconds", "3", "--models", str(tmp_path)])
    res = json.loads(capsys.readouterr().out)
    assert rc == 0 and res["random_init"] is True
    assert all(m["random_init"] and not m["trained"] for m in res["models"])
    wake = [m for m in res["models"] if m["kind"] == "wake"][0]
    assert wake["macs_per_s"] <= bench.TARGETS["wake_macs_per_s"]
    assert wake["flash_bytes"] <= bench.TARGETS["wake_flash_bytes"]
    assert res["esp32s3"]["estimate"] is True and "not measured" in res["esp32s3"]["basis"]
    assert res["machine"]
    mp = res["micropython"]
    if "error" not in mp:
        # Speed is measured by the benchmark, not held to a target here: a loaded machine
        # would fail the test, not the code.
        assert mp["rtf"] > 0
        assert mp["total_bytes"] > mp["weights_bytes"] > 0
        assert mp["total_bytes"] <= bench.TARGETS["total_bytes"]
        assert mp["working_bytes"] <= bench.TARGETS["working_bytes"]
        assert mp["alloc_quiet_hops"] == 0 and mp["load_peak_bytes"] >= mp["total_bytes"]
    assert "rtf" in res["pymicro_wakeword"] or "error" in res["pymicro_wakeword"]


def test_damaged_models_are_an_error_not_a_random_init_run(capsys, tmp_path):
    from host_tools.paths import MODELS

    (tmp_path / "hey_jarvis.json").write_bytes((MODELS / "hey_jarvis.json").read_bytes())
    (tmp_path / "hey_jarvis.bin").write_bytes((MODELS / "hey_jarvis.bin").read_bytes()[:1000])
    assert cli.main(["bench", "--seconds", "1", "--models", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no usable models" in err and "hey_jarvis.bin: truncated" in err


def test_port_that_does_not_exist_is_a_clear_error(capsys):
    assert cli.main(["bench", "--port", "/dev/nonexistent-hushword", "--seconds", "1"]) == 2
    assert "/dev/nonexistent-hushword" in capsys.readouterr().err


def test_bench_on_the_simulated_board(tmp_path, capsys):
    if not bench.reference.micropython_exe():
        pytest.skip("micropython interpreter not installed")
    proc, port = start_sim(tmp_path / "fs", lead_in=0)
    try:
        args = ["bench", "--json", "--seconds", "2", "--models", str(tmp_path / "none")]
        (tmp_path / "none").mkdir()
        rc = cli.main(args + ["--port", port, "--soft-reset"])
        res = json.loads(capsys.readouterr().out)
        dev = res["device"]
        assert rc == 0 and dev["errors"] == [] and len(dev["models"]) == 2
        # Keeps up with real time; the 2 % target is a benchmark figure (`hushword bench`
        # reports it), not a pass mark for a test on shared CI cores.
        assert dev["hops"] == 100 and 0 < dev["rtf"] < 1
        assert dev["alloc_quiet_hops"] == 0 and dev["free_bytes"] > 0
        assert dev["total_bytes"] == pytest.approx(res["micropython"]["total_bytes"], rel=0.05)
        assert "board at " + port in dev["where"]
        # the models were removed again and the board's app came back
        from host_tools.device import Device

        with Device(port) as d:
            assert d.command("ping", timeout=15).get("pong") is True
    finally:
        proc.terminate()
        proc.wait(timeout=10)
