"""Bad inputs are refused before anything starts: exit 2, one line, nothing in MLflow (issue 19, item 4).

Non-UTF-8 files, duplicate YAML keys at any depth, non-finite floats anywhere in the schema,
rules that join two sections (`model.pack` and `train.batch_size`; `model.seq_len` and
`data.seq_len`), and the data loaders' messages for folders, CSV lines and non-numpy files.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from ganforge.modalities.image.config import ImageData
from ganforge.modalities.image.data import load_images
from ganforge.modalities.tokens.tiny import tiny_tokens
from ganforge.modalities.toy import MODALITY as TOY
from ganforge.modalities.toy.config import ToyData
from ganforge.modalities.toy.data import load_points
from ganforge.pipelines.sweep import load_sweep_file
from ganforge.platform.config import (
    ConfigError,
    apply_overrides,
    load_job_dict,
    load_job_file,
    parse_override,
)
from ganforge.platform.config.loading import read_yaml
from ganforge.platform.errors import DataError
from ganforge.platform.modality import get_modality
from tests.conftest import REPO, run_cli

TOY_YAML = yaml.safe_dump(TOY.tiny_config(), sort_keys=False)


def _job_text(overrides: dict) -> str:
    return yaml.safe_dump(apply_overrides(TOY.tiny_config(), overrides), sort_keys=False)


def _line_of(text: str, needle: str) -> int:
    return text.splitlines().index(needle) + 1


def _nothing_in_mlflow(home: Path) -> None:
    """No run and no registered model in the test's store (usually the store was never even created)."""
    database = home / "mlflow.db"
    if not database.exists():
        return
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{database}")
    experiments = [e.experiment_id for e in client.search_experiments()]
    assert not experiments or not client.search_runs(experiments)
    assert not client.search_registered_models()


def _refused_by_cli(command: str, config: Path, home: Path) -> str:
    """Runs `ganforge COMMAND CONFIG`; asserts exit 2, one line, no traceback, nothing in MLflow."""
    result = run_cli(command, str(config), cwd=config.parent)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    _nothing_in_mlflow(home)
    return lines[0]


# --- through the real CLI -------------------------------------------------------------------------

LATIN1_COMMENT = b"# caf\xe9 au lait\n" + TOY_YAML.encode()
DUPLICATE_SECTION = TOY_YAML + "gan:\n  loss: hinge\n" + "gan:\n  n_critic: 2\n"
DUPLICATE_NESTED = TOY_YAML + "gan:\n  g_opt:\n    lr: 0.001\n    betas: [0.5, 0.9]\n    lr: 0.002\n"
OLD_SEQUENCE = yaml.safe_dump({**tiny_tokens(), "modality": "sequence"}, sort_keys=False)
IGNORED_OPTION = yaml.safe_dump(apply_overrides(tiny_tokens(), {"gan.r1_gamma": 1.0}), sort_keys=False)

CLI_CASES = {
    "latin-1 comment": (LATIN1_COMMENT, "not UTF-8 text (byte 0xE9 at line 1)"),
    "binary file": (b"name: x\n\x89PNG\r\n\x1a\n\x00\xff\xfe", "not UTF-8 text (byte 0x89 at line 2)"),
    "duplicate section": (
        DUPLICATE_SECTION.encode(),
        f"duplicate key gan (lines {_line_of(DUPLICATE_SECTION, 'gan:')} and "
        f"{len(DUPLICATE_SECTION.splitlines()) - 1})",
    ),
    "duplicate nested key": (
        DUPLICATE_NESTED.encode(),
        f"duplicate key gan.g_opt.lr (lines {_line_of(DUPLICATE_NESTED, '    lr: 0.001')} and "
        f"{_line_of(DUPLICATE_NESTED, '    lr: 0.002')})",
    ),
    "infinite lr": (
        _job_text({"gan.g_opt.lr": math.inf}).encode(),
        "gan.g_opt.lr = inf: Input should be a finite number",
    ),
    "pack not dividing batch": (
        _job_text({"model.pack": 3}).encode(),
        "model.pack = 3 does not divide train.batch_size = 32",
    ),
    "the old sequence modality": (
        OLD_SEQUENCE.encode(),
        "modality = 'sequence' was split in two: use 'tokens' (oracle, text, token_ids) or 'timeseries'",
    ),
    "an option the objective ignores": (
        IGNORED_OPTION.encode(),
        "gan.r1_gamma = 1.0: the 'seqgan' objective of this tokens job ignores it",
    ),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_train_refuses_bad_input_before_any_run(case: str, tmp_path: Path, home: Path) -> None:
    content, expected = CLI_CASES[case]
    config = tmp_path / "job.yaml"
    config.write_bytes(content)
    line = _refused_by_cli("train", config, home)
    assert line.startswith(f"error: {config}: ") and expected in line, line


def test_sweep_refuses_a_duplicate_key_in_its_space(tmp_path: Path, home: Path) -> None:
    text = (REPO / "configs/sweeps/toy_tiny.yaml").read_text()
    text = text.replace("space:\n", "space:\n  gan.loss: {choice: [hinge]}\n", 1)
    assert text.count("  gan.loss:") == 2
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(text)
    first, second = (i + 1 for i, line in enumerate(text.splitlines()) if line.startswith("  gan.loss:"))
    line = _refused_by_cli("sweep", sweep, home)
    assert line == f"error: {sweep}: duplicate key space.gan.loss (lines {first} and {second})"


def test_submit_refuses_a_file_that_is_not_utf8(tmp_path: Path, home: Path) -> None:
    config = tmp_path / "job.yaml"
    config.write_bytes(LATIN1_COMMENT)
    line = _refused_by_cli("submit", config, home)
    assert line == f"error: {config}: not UTF-8 text (byte 0xE9 at line 1); save it as UTF-8"


# --- the YAML reader ------------------------------------------------------------------------------


def _read(tmp_path: Path, text: str) -> dict:
    path = tmp_path / "file.yaml"
    path.write_text(text, encoding="utf-8")
    return read_yaml(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: {b: 1, b: 2}\n", "duplicate key a.b (twice on line 1)"),
        (
            "space:\n  x:\n    choice:\n      - {lr: 1}\n      - lr: 1\n        lr: 2\n",
            "space.x.choice[1].lr",
        ),
        ("job:\n  gan: {}\n  train: {}\n  gan: {}\n", "duplicate key job.gan (lines 2 and 4)"),
    ],
)
def test_duplicate_keys_are_refused_at_any_depth(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"^\S+file\.yaml: duplicate key") as error:
        _read(tmp_path, text)
    assert message in str(error.value)


def test_what_is_not_a_duplicate_still_loads(tmp_path: Path) -> None:
    text = "base: &opt {lr: 1, betas: [0.5, 0.9]}\ng_opt:\n  <<: *opt\n  lr: 3\n"
    text += "d_opt: *opt\nids: {1: a, '1': b}\n"
    raw = _read(tmp_path, "\ufeff" + text)  # a byte-order mark is fine too
    assert raw["g_opt"] == {"lr": 3, "betas": [0.5, 0.9]}  # a key beside a merge overrides it
    assert raw["d_opt"] == raw["base"] and raw["ids"] == {1: "a", "1": "b"}


def test_control_characters_and_folders_are_one_line(tmp_path: Path) -> None:
    binary = tmp_path / "nul.yaml"
    binary.write_bytes(b"name: x\nmodality: \x00toy\n")
    with pytest.raises(ConfigError, match=r"nul\.yaml: not YAML text \(control character 0x00 at line 2\)$"):
        read_yaml(binary)
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    with pytest.raises(ConfigError, match=r"folder\.yaml: is a directory, not a config file$"):
        read_yaml(folder)


def test_set_values_parse_as_before() -> None:
    assert parse_override("gan.g_opt.betas=[0.5, 0.9]") == ("gan.g_opt.betas", [0.5, 0.9])
    assert parse_override("model={pack: 2, pack: 4}") == ("model", {"pack": 4})
    assert parse_override("gan.loss=hinge") == ("gan.loss", "hinge")


# --- non-finite floats, anywhere -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"gan.g_opt.lr": "inf"}, "gan.g_opt.lr = 'inf': Input should be a finite number"),
        ({"gan.d_opt.lr": -math.inf}, "gan.d_opt.lr = -inf: Input should be a finite number"),
        ({"gan.g_opt.betas": [0.5, math.nan]}, "gan.g_opt.betas.1 = nan: Input should be a finite number"),
        ({"gan.grad_clip": math.inf}, "gan.grad_clip = inf: Input should be a finite number"),
        ({"gan.r1_gamma": math.inf}, "gan.r1_gamma = inf: Input should be a finite number"),
        ({"data.sigma": math.inf}, "data.sigma = inf: Input should be a finite number"),
        ({"data.modes": [[0.0, math.inf]]}, "data.modes.0.1 = inf: Input should be a finite number"),
    ],
)
def test_non_finite_floats_are_refused_naming_key_and_value(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_job_dict(apply_overrides(TOY.tiny_config(), overrides), source="job.yaml")
    assert str(error.value) == f"job.yaml: {message}"


def test_non_finite_floats_from_yaml_and_set(tmp_path: Path) -> None:
    config = tmp_path / "job.yaml"
    config.write_text(TOY_YAML + "gan:\n  ema: {decay: .nan}\n")
    with pytest.raises(ConfigError, match=r"gan\.ema\.decay = nan: Input should be a finite number$"):
        load_job_file(config)
    plain = tmp_path / "plain.yaml"
    plain.write_text(TOY_YAML)
    with pytest.raises(ConfigError, match=r"gan\.g_opt\.lr = inf: Input should be a finite number$"):
        load_job_file(plain, ["gan.g_opt.lr=.inf"])
    series = apply_overrides(_tiny_series(), {"model.moment_weight": math.inf})
    with pytest.raises(ConfigError, match=r"model\.moment_weight = inf: Input should be a finite number$"):
        load_job_dict(series)


def test_non_finite_floats_in_a_sweep_are_refused(tmp_path: Path) -> None:
    raw = yaml.safe_load((REPO / "configs/sweeps/toy_tiny.yaml").read_text())
    raw["space"]["gan.g_opt.lr"] = {"uniform": [1e-4, math.inf]}
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump(raw))
    with pytest.raises(
        ConfigError, match=r"space\.gan\.g_opt\.lr\.uniform\.1 = inf: Input should be a finite"
    ):
        load_sweep_file(sweep)


# --- rules that join two sections -------------------------------------------------------------------


def test_pack_must_divide_the_batch() -> None:
    assert load_job_dict(apply_overrides(TOY.tiny_config(), {"model.pack": 4})).model.pack == 4
    with pytest.raises(ConfigError) as error:
        load_job_dict(
            apply_overrides(TOY.tiny_config(), {"model.pack": 5, "train.batch_size": 12}), "job.yaml"
        )
    assert str(error.value) == (
        "job.yaml: model.pack = 5 does not divide train.batch_size = 12 "
        "(D judges the batch in packs of that many samples)"
    )


def _tiny_series() -> dict:
    return get_modality("timeseries").tiny_configs()[0]


@pytest.mark.parametrize(
    ("modality", "overrides", "message"),
    [
        (
            "timeseries",
            {"model.method": "gumbel"},
            "model.method = 'gumbel': Input should be 'timegan' or 'convgan'",
        ),
        (
            "tokens",
            {"model.method": "timegan"},
            "model.method = 'timegan': Input should be 'mle', 'seqgan' or",
        ),
        ("tokens", {"model.noise_dim": 7}, "model.noise_dim: unknown key"),
        ("tokens", {"model.seq_len": 8}, "model.seq_len: unknown key"),
    ],
)
def test_a_sequence_model_takes_only_its_own_keys(modality: str, overrides: dict, message: str) -> None:
    raw = tiny_tokens() if modality == "tokens" else _tiny_series()
    with pytest.raises(ConfigError) as error:
        load_job_dict(apply_overrides(raw, overrides), source="job.yaml")
    assert str(error.value).startswith(f"job.yaml: {message}")


def test_a_sweep_space_value_that_breaks_a_joint_rule_is_refused(tmp_path: Path) -> None:
    raw = yaml.safe_load((REPO / "configs/sweeps/toy_tiny.yaml").read_text())
    raw["space"]["model.pack"] = {"choice": [2, 3]}
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump(raw))
    with pytest.raises(
        ConfigError, match=r"space\.model\.pack: model\.pack = 3 does not divide train\.batch_size"
    ):
        load_sweep_file(sweep)


# --- data files -----------------------------------------------------------------------------------


def test_a_folder_where_a_file_is_expected_says_so(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"data\.path = '.*': is a directory, expected a \.npy or \.csv file"
    ):
        load_job_dict(
            apply_overrides(TOY.tiny_config(), {"data.dataset": "file", "data.path": str(tmp_path)})
        )
    tokens = apply_overrides(tiny_tokens(), {"data.dataset": "text", "data.path": str(tmp_path)})
    with pytest.raises(ConfigError, match=r"data\.path = '.*': is a directory, expected a file"):
        load_job_dict(tokens)
    with pytest.raises(DataError, match=r": is a directory, expected a \.npz file$"):
        load_images(ImageData(dataset="npz", path=tmp_path))


def test_toy_csv_errors_count_lines_as_the_file_does(tmp_path: Path) -> None:
    header = tmp_path / "header.csv"
    header.write_text("x,y\n1,2\n3,4\n")
    with pytest.raises(DataError, match=r"header\.csv: line 1, column 1: 'x' is not a number"):
        load_points(ToyData(dataset="file", path=header))
    late = tmp_path / "late.csv"
    late.write_text("# points\n1,2\n\n3,oops\n")
    with pytest.raises(DataError, match=r"late\.csv: line 4, column 2: 'oops' is not a number"):
        load_points(ToyData(dataset="file", path=late))
    wide = tmp_path / "wide.csv"
    wide.write_text("1,2\n3,4,5\n")
    with pytest.raises(DataError, match=r"wide\.csv: line 2: 3 columns, expected 2"):
        load_points(ToyData(dataset="file", path=wide))
    good = tmp_path / "good.csv"
    good.write_text("# x, y\n1,2\n\n3.5,-4\n")
    assert load_points(ToyData(dataset="file", path=good)).tensors[0].tolist() == [[1.0, 2.0], [3.5, -4.0]]


def test_random_bytes_are_not_a_numpy_file(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).bytes(512)
    npy, npz = tmp_path / "points.npy", tmp_path / "images.npz"
    npy.write_bytes(noise)
    npz.write_bytes(noise)
    with pytest.raises(DataError) as error:
        load_points(ToyData(dataset="file", path=npy))
    assert str(error.value) == f"{npy.resolve()}: not a valid .npy file"
    with pytest.raises(DataError) as error:
        load_images(ImageData(dataset="npz", path=npz))
    assert str(error.value) == f"{npz.resolve()}: not a valid .npz file"


def test_an_unreadable_file_is_refused_before_torch_loads(tmp_path: Path) -> None:
    # The CLI promises that config errors answer at once; importing torch alone takes seconds.
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [\n")
    probe = (
        "import sys\n"
        "from ganforge.pipelines.sweep import load_sweep_file\n"
        "from ganforge.platform.config import ConfigError, load_job_file\n"
        "for load in (load_job_file, load_sweep_file):\n"
        "    for path in (sys.argv[1], sys.argv[1] + '.missing'):\n"
        "        try:\n"
        "            load(path)\n"
        "        except ConfigError:\n"
        "            pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'ray', 'mlflow')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(bad)], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]", done.stdout[:300]
