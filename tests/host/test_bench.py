import json

from host_tools import bench, cli


def test_bench_json_reports_all_figures(capsys, tmp_path):
    rc = cli.main(["bench", "--json", "--seconds", "3", "--models", str(tmp_path)])
    res = json.loads(capsys.readouterr().out)
    assert rc == 0 and res["random_init"] is True
    wake = [m for m in res["models"] if m["kind"] == "wake"][0]
    assert wake["macs_per_s"] <= bench.TARGETS["wake_macs_per_s"]
    assert wake["flash_bytes"] <= bench.TARGETS["wake_flash_bytes"]
    mp = res["micropython"]
    if "error" not in mp:
        assert 0 < mp["rtf"] < 0.2 and mp["total_bytes"] > mp["weights_bytes"] > 0
    assert "rtf" in res["pymicro_wakeword"] or "error" in res["pymicro_wakeword"]


def test_port_is_refused_clearly(capsys):
    assert cli.main(["bench", "--port", "/dev/null"]) == 2
    assert "not supported" in capsys.readouterr().err
