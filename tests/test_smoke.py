import json

from conftest import run_cli


def test_summary_json_of_bundled_spec_by_name():
    result = run_cli("summary", "cs231n_conv", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["output_shape"] == [32, 32, 10]
    assert report["totals"]["params"] == 760
    assert report["totals"]["macs"] == 768_000
