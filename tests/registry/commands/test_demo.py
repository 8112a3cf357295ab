"""``registry demo`` end to end on the embedded default, in a child process like a new user would run it."""

from __future__ import annotations

import json
from pathlib import Path

from clirun import run_cli


def test_demo_trains_registers_and_gates_then_repeats_identically(tmp_path):
    home = tmp_path / "home"
    first = run_cli("--home", str(home), "demo", "--epochs", "2", "--json", timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    body = json.loads(first.stdout)
    demo = body["demo"]
    assert demo["version"] == "ionis@1" and demo["verdict"] in ("promoted", "refused", "error")
    assert Path(demo["scorecard"]).is_file()
    html = Path(demo["scorecard"]).read_text()
    assert "tst900" in html and "<svg" in html
    # the run is reproducible: same extract (cache hit), same trained bytes, same version
    again = json.loads(run_cli("--home", str(home), "demo", "--epochs", "2", "--json", timeout=300).stdout)
    assert again["demo"]["version"] == "ionis@1"
    shown = json.loads(run_cli("--home", str(home), "show", "ionis@1", "--json").stdout)
    extract = shown["lineage"]["extracts"][0]
    assert extract["name"] == "ionis-wspr-signatures" and extract["params"]["table"] == "synthetic_signatures"
    assert shown["lineage"]["training"]["seed"] == 0
    assert shown["lineage"]["training"]["metrics"]["val_pearson"] > 0.3
    assert len(shown["evidence"]) == 2
    # `registry train` on the cached extract: a new seed gives a new version with its own lineage
    cfg = home / "demo" / "ionis_demo_config.json"
    trained = run_cli("--home", str(home), "train", "ionis", "--config", str(cfg), "--extract",
                      "ionis-wspr-signatures", "--param", "database=demo", "--param", "table=synthetic_signatures",
                      "--param", "seed=2026", "--param", "sample_ppm=1000000", "--epochs", "1", "--seed", "3", "--json",
                      timeout=300)
    assert trained.returncode == 0, trained.stderr[-2000:]
    body = json.loads(trained.stdout)
    assert body["version"] == "ionis@2" and body["lineage"]["training"]["seed"] == 3
    assert body["lineage"]["extracts"][0]["digest"] == extract["digest"]  # the same cached rows
    bad = run_cli("--home", str(home), "train", "ionis", "--config", str(cfg), "--extract", "nope")
    assert bad.returncode == 2 and "unknown extract 'nope'" in bad.stderr


def _synthetic_release(folder: Path, tag: str, architecture: str, extra_model: dict) -> None:
    """SYNTHETIC weights of a V22-trunk release under a config naming ``architecture`` (not upstream files)."""
    import torch
    from safetensors.torch import save_file

    from plugins.ionis.architectures import ARCHITECTURES
    from plugins.ionis.demo import demo_config
    from plugins.ionis.model import IonisGate

    config = demo_config() | {"version": tag}
    config["model"] = {**config["model"], "architecture": architecture, **extra_model}
    torch.manual_seed(0)
    module = IonisGate(15, ARCHITECTURES.get(architecture, ARCHITECTURES["IonisGate"]))
    folder.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(folder / f"ionis_{tag}.safetensors"))
    (folder / f"config_{tag}.json").write_text(json.dumps(config))


def test_release_prints_one_line_per_version_and_goes_on_after_a_refusal(app, tmp_path, capsys):
    from registry.commands.demo import _release
    from registry.output import Output

    _synthetic_release(tmp_path / "rel" / "v24", "v24", "IonisGateV24", {"sun_sidecar": False})
    _synthetic_release(tmp_path / "rel" / "v28", "v28", "IonisGateV28", {})  # nobody described it
    results = _release(app, app.plugins.family("ionis"), tmp_path / "rel", "cpu", Output())
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("release ")]
    assert len(lines) == 2 and [r["release"] for r in results] == ["v24", "v28"]
    assert lines[0].startswith("release v24: ionis@1 (IonisGateV24, 189,083 parameters) ")
    assert results[0]["verdict"] != "promoted" and "sfi-benefit" in results[0]["failing"]
    assert lines[0].endswith("; its own battery: --suite ionis-v24-release")
    assert lines[1].startswith("release v28: NOT REGISTERED — ") and "unknown architecture 'IonisGateV28'" in lines[1]
    assert results[1]["verdict"] == "not registered"
