"""Per-device speed defaults and the speed benchmarks' plumbing. No timings are asserted: speed claims
live in benchmarks/ (ratios measured side by side), never in tests."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from medganbench.config import from_dict
from medganbench.devices import cpu_flags, cpu_has_bf16, resolve
from medganbench.train import TrainConfig

REPO = Path(__file__).resolve().parents[1]
BF16 = {"avx2", "avx512f", "avx512_bf16"}
PLAIN = {"avx2", "fma"}


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_auto_picks_bfloat16_only_on_bf16_cpus_and_checked_models():
    assert resolve(device="cpu", flags=BF16).mixed_precision == "bfloat16"
    assert resolve(device="cpu", flags={"amx_bf16"}, model="cdcgan").mixed_precision == "bfloat16"
    assert resolve(device="cpu", flags=PLAIN).mixed_precision == "off"
    unchecked = resolve(device="cpu", flags=BF16, model="wgan-gp")
    assert unchecked.mixed_precision == "off" and "wgan-gp" in unchecked.reason
    gpu = resolve(device="gpu", flags=BF16)
    assert gpu.mixed_precision == "off" and gpu.jit_compile is True
    assert resolve(device="cpu", flags=BF16).jit_compile is False


def test_explicit_settings_win_over_auto():
    s = resolve("float16", False, 4, device="gpu")
    assert (s.mixed_precision, s.jit_compile, s.steps_per_call) == ("float16", False, 4)
    assert resolve("off", device="cpu", flags=BF16).mixed_precision == "off"
    with pytest.raises(ValueError, match="device"):
        resolve(device="tpu-v9")


def test_cpu_flags_reads_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx512f AVX512_BF16\n\nprocessor\t: 1\nflags\t: fpu\n")
    assert cpu_flags(info) == {"fpu", "avx512f", "avx512_bf16"}
    assert cpu_has_bf16(cpu_flags(info))
    assert cpu_flags(tmp_path / "absent") == set()


def test_trainconfig_default_is_auto_and_old_configs_still_load():
    assert TrainConfig().mixed_precision == "auto"
    assert from_dict(TrainConfig, {"mixed_precision": "off"}).mixed_precision == "off"


def test_ratios_are_against_the_fastest_reference_of_each_round():
    tt = _load("train_throughput")
    runs = {"ref fit": [600.0, 1000.0], "ref loop": [1000.0, 900.0], "kit": [1300.0, 1300.0]}
    groups = {"ref fit": "reference", "ref loop": "reference", "kit": "kit"}
    s = tt.summarize(runs, groups)
    assert s["fastest_reference"] == [1000.0, 1000.0]
    assert s["variants"]["kit"]["ratio_to_fastest_reference"] == [1.3, 1.3]
    assert s["variants"]["ref fit"]["ratio_to_fastest_reference"] == [0.6, 1.0]
    table = tt.markdown_table(s)
    assert "| kit | 1300 | 0 % | **1.30×** (1.30, 1.30) |" in table


def test_gpu_script_dry_run_names_every_step(tmp_path):
    out = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu.sh"), "--dry-run", str(tmp_path / "g")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for needle in ("train_throughput.py", "--json", "--mixed-precision off", "--mixed-precision float16",
                   "medganbench sample", "medganbench eval", "bench --model cdcgan", "gpu_report.py"):
        assert needle in text, needle
    assert not (tmp_path / "g").exists()  # a dry run writes nothing
    bad = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu.sh"), "--frobnicate"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "--frobnicate" in bad.stderr


def test_throughput_benchmark_runs_and_gpu_report_tables_it(medmnist_root, tmp_path):
    """The benchmark's real code path on two tiny variants, then the GPU report built from its JSON."""
    tt = _load("train_throughput")
    tt.main(["--steps", "1", "--warmup", "1", "--rounds", "1", "--batch-size", "16",
             "--only", "kit default,tf.function loop", "--json", str(tmp_path / "throughput.json")])
    data = json.loads((tmp_path / "throughput.json").read_text())
    names = list(data["variants"])
    assert len(names) == 2 and any(n.startswith("kit default") for n in names)
    assert data["variants"][names[0]]["median"] > 0 and "fastest reference" in data["verdict"]
    (tmp_path / "times.txt").write_text("throughput 12\n")
    report = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_report.py"), str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert report.returncode == 0, report.stderr
    assert "| kit default (" in report.stdout and "× fastest reference" in report.stdout
    assert "not measured" in report.stdout  # no bench result here: said, not invented
