"""Sequence data: bad files fail before training with the file and line named; configs check kinds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ganforge.modalities.sequence import MODALITY
from ganforge.modalities.sequence.config import SequenceData, SequenceModel, check_model
from ganforge.modalities.sequence.samples import decode_all
from ganforge.modalities.sequence.series_data import series_set, unscale
from ganforge.modalities.sequence.token_data import token_corpus
from ganforge.platform.config import ConfigError, load_job_dict
from ganforge.platform.errors import DataError


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _tokens(path: Path, **extra: object) -> SequenceData:
    return SequenceData(dataset="token_ids", path=path, seq_len=3, **extra)


def _csv(path: Path, **extra: object) -> SequenceData:
    return SequenceData(dataset="csv", path=path, seq_len=3, **extra)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("\n  \n", "empty file"),
        ("1 2 3\n4 x 6\n", "line 2, token 2: 'x' is not a token id"),
        ("1 2 3\n4 5\n", "line 2: 2 tokens, fewer than data.seq_len = 3"),
        ("1 2 3\n", "1 sequence(s)"),
    ],
)
def test_bad_token_id_files_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path / "ids.txt", text)
    with pytest.raises(DataError, match=str(path)) as error:
        token_corpus(_tokens(path))
    assert message in str(error.value)


def test_token_id_vocab_must_cover_the_ids(tmp_path: Path) -> None:
    path = _write(tmp_path / "ids.txt", "1 2 3\n4 5 9\n")
    assert token_corpus(_tokens(path)).vocab_size == 10
    with pytest.raises(DataError, match="holds id 9"):
        token_corpus(_tokens(path, vocab_size=5))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("a,b\n", "no data rows"),
        ("a,b\n1,2\n3,oops\n4,5\n", "line 3, column 2 ('b'): 'oops' is not a number"),
        ("a,b\n1,2\n3,nan\n4,5\n", "line 3, column 2 ('b'): 'nan' is NaN or infinite"),
        ("a,b\n1,2\n3\n", "line 3: 1 columns, expected 2"),
        ("a,b\n1,2\n3,4\n", "2 time steps, fewer than the window data.seq_len = 3"),
    ],
)
def test_bad_csv_files_name_file_line_and_column(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path / "series.csv", text)
    with pytest.raises(DataError, match=str(path)) as error:
        series_set(_csv(path))
    assert message in str(error.value)


def test_npy_with_nan_names_row_and_column(tmp_path: Path) -> None:
    array = np.ones((10, 2))
    array[4, 1] = np.nan
    np.save(tmp_path / "s.npy", array)
    with pytest.raises(DataError, match="row 5, column 2 holds a NaN"):
        series_set(SequenceData(dataset="npy", path=tmp_path / "s.npy", seq_len=3))


def test_csv_windows_are_scaled_and_decode_to_original_units(tmp_path: Path) -> None:
    rows = "\n".join(f"{t},{10 * t}" for t in range(20))
    cfg = _csv(_write(tmp_path / "s.csv", "t,y\n" + rows + "\n"), stride=2)
    data = series_set(cfg)
    assert len(data.train) + len(data.heldout) == 9  # starts 0, 2, ..., 16
    assert float(data.train.min()) >= 0.0 and float(data.train.max()) <= 1.0
    info = MODALITY.describe_samples(MODALITY.load_dataset(cfg), cfg)
    json.dumps(info)
    restored = unscale(data.train.numpy(), info)
    assert np.allclose(restored[:, :, 1], 10 * restored[:, :, 0], atol=1e-3)
    assert info["columns"] == ["t", "y"]


def test_text_corpus_round_trips_through_the_saved_vocabulary(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.txt", "The cat sat.\nA dog ran far away.\n\nThe cat ran.\n")
    cfg = SequenceData(dataset="text", path=path, tokenizer="word", seq_len=5, heldout_fraction=0.3)
    corpus = token_corpus(cfg)
    info = json.loads(json.dumps(MODALITY.describe_samples(MODALITY.load_dataset(cfg), cfg)))
    decoded = set(decode_all(corpus.train, info)) | set(decode_all(corpus.heldout, info))
    assert decoded == {"The cat sat .", "A dog ran far away", "The cat ran ."}  # 6 tokens cut to 5
    chars = SequenceData(dataset="text", path=path, seq_len=40)
    info = MODALITY.describe_samples(MODALITY.load_dataset(chars), chars)
    assert "The cat sat." in decode_all(token_corpus(chars).train, info) + decode_all(
        token_corpus(chars).heldout, info
    )


def test_empty_text_file_fails(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="empty file"):
        token_corpus(SequenceData(dataset="text", path=_write(tmp_path / "e.txt", "")))


def test_configs_refuse_fields_of_the_other_kind_and_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="'tokenizer' is not used for kind 'series'"):
        SequenceData(dataset="sines", tokenizer="word")
    with pytest.raises(ValueError, match="holds series sequences, not tokens"):
        SequenceData(dataset="sines", kind="tokens")
    assert SequenceData(dataset="sines").kind == "series"
    with pytest.raises(ConfigError, match="model.seq_len = 20: must equal data.seq_len = 24"):
        check_model(SequenceModel(method="timegan"), SequenceData(dataset="sines", seq_len=24))
    with pytest.raises(ConfigError, match="model.method = 'seqgan': not a method for series"):
        check_model(SequenceModel(), SequenceData(dataset="sines", seq_len=20))
    with pytest.raises(ConfigError, match="'rollouts' is not used for kind 'series'"):
        check_model(SequenceModel(method="timegan", rollouts=4), SequenceData(dataset="sines"))


def test_job_config_round_trips_with_every_key_dumped() -> None:
    job = load_job_dict(MODALITY.tiny_configs()[1])
    assert load_job_dict(job.to_dict()) == job
