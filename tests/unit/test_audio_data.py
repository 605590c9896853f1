"""Audio folders: formats, mix-down, resampling, windows, trimming, and the errors users see."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from ganforge.modalities.audio import MODALITY
from ganforge.modalities.audio.config import AudioData, AudioModel
from ganforge.modalities.audio.data import load_clips, trim
from ganforge.modalities.audio.spoken_digits import DIGITS, build, utterance_plan
from ganforge.platform.config import ConfigError, load_job_dict
from ganforge.platform.errors import DataError


def _tone(seconds: float, rate: int, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.5 * np.sin(2 * np.pi * 440 * t)
    return np.stack([wave] * channels, axis=1) if channels > 1 else wave


def _folder(root: Path) -> Path:
    (root / "dog").mkdir(parents=True)
    (root / "cat").mkdir()
    soundfile.write(root / "dog" / "stereo.wav", _tone(0.3, 44_100, channels=2), 44_100)
    soundfile.write(root / "dog" / "lossless.flac", _tone(0.2, 16_000), 16_000)
    soundfile.write(root / "cat" / "vorbis.ogg", _tone(0.25, 22_050), 22_050)
    (root / "cat" / "broken.wav").write_bytes(b"RIFF not really a wave file")
    (root / "cat" / "notes.txt").write_text("not audio")
    return root


def test_folder_reads_every_format_mixes_down_and_resamples(tmp_path: Path) -> None:
    cfg = AudioData(dataset="folder", path=_folder(tmp_path / "data"), sample_rate=8000, window=1024)
    clips = load_clips(cfg)
    assert clips.x.shape == (3, 1, 1024)
    assert clips.skipped == 1  # the broken WAV; the .txt is not an audio file at all
    assert clips.class_names == ["cat", "dog"]
    assert sorted(clips.labels.tolist()) == [0, 1, 1]
    assert len(clips.tensors) == 2  # labelled data yields (x, y)
    assert clips.x.abs().max() <= 1.0


def test_resampled_length_follows_the_rate(tmp_path: Path) -> None:
    soundfile.write(tmp_path / "a.wav", _tone(0.1, 44_100), 44_100)
    cfg = AudioData(dataset="folder", path=tmp_path, sample_rate=16_000, window=2048, trim_silence=False)
    clips = load_clips(cfg)
    assert len(clips.tensors) == 1  # an unlabelled folder yields plain x
    nonzero = int((clips.x[0, 0].abs() > 1e-4).sum())
    assert abs(nonzero - 1600) < 20  # 0.1 s at 16 kHz, the rest zero padding


def test_resampling_keeps_a_tone_and_removes_what_the_new_rate_cannot_hold(tmp_path: Path) -> None:
    rate, t = 22_050, np.arange(11_025) / 22_050
    kept, aliased = 0.4 * np.sin(2 * np.pi * 440 * t), 0.4 * np.sin(2 * np.pi * 6000 * t)  # 6 kHz > 4 kHz
    soundfile.write(tmp_path / "a.wav", kept + aliased, rate)
    cfg = AudioData(dataset="folder", path=tmp_path, sample_rate=8000, window=4096, trim_silence=False)
    wave = load_clips(cfg).x[0, 0].numpy().astype(np.float64)
    spectrum = np.abs(np.fft.rfft(wave[:4000] * np.hanning(4000)))  # 0.5 s at 8 kHz: 2 Hz bins
    assert abs(int(spectrum.argmax()) * 2 - 440) <= 2
    assert spectrum[1800:2000].max() < 1e-2 * spectrum.max()  # 6 kHz would alias to 2 kHz


def test_slicing_all_cuts_long_files_into_windows(tmp_path: Path) -> None:
    soundfile.write(tmp_path / "long.wav", _tone(1.0, 8000), 8000)
    first = load_clips(AudioData(dataset="folder", path=tmp_path, sample_rate=8000, window=1024))
    every = load_clips(
        AudioData(dataset="folder", path=tmp_path, sample_rate=8000, window=1024, slicing="all")
    )
    assert len(first) == 1
    assert len(every) == 8  # 8,000 samples: seven full windows and a last one 81% full


def test_trim_drops_silence_at_both_ends() -> None:
    wave = np.concatenate([np.zeros(500), _tone(0.01, 8000), np.full(300, 1e-5)])
    trimmed = trim(wave.astype(np.float32), top_db=40)
    assert 70 <= len(trimmed) <= 80
    assert len(trim(np.zeros(10, np.float32), 40)) == 0


def test_folder_with_nothing_readable_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "bad.wav").write_bytes(b"garbage")
    (tmp_path / "bad.flac").write_bytes(b"garbage")
    with pytest.raises(DataError, match="none of 2 audio files could be read"):
        load_clips(AudioData(dataset="folder", path=tmp_path))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no audio files"):
        load_clips(AudioData(dataset="folder", path=empty))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"data": {"window": 5000}}, "data.window = 5000: expected one of 1024"),
        ({"data": {"dataset": "folder"}}, "needs data.path"),
        ({"data": {"dataset": "folder", "path": "/no/such/folder"}}, "no such folder"),
        ({"model": {"kernel_size": 24}}, "odd kernel"),
    ],
)
def test_bad_configs_fail_with_one_line(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_job_dict({"name": "x", "modality": "audio", **overrides})


def test_conditional_model_needs_labelled_data(tmp_path: Path) -> None:
    soundfile.write(tmp_path / "a.wav", _tone(0.1, 8000), 8000)
    data = AudioData(dataset="folder", path=tmp_path)
    with pytest.raises(ConfigError, match="no class sub-folders"):
        MODALITY.build_generator(AudioModel(conditional=True), MODALITY.prepare(data))
    labelled = AudioData(dataset="folder", path=_folder(tmp_path / "labelled"))
    with pytest.raises(ConfigError, match="model.n_classes = 10: the data has 2 classes"):
        MODALITY.build_generator(AudioModel(conditional=True, model_dim=2), MODALITY.prepare(labelled))


def test_utterance_plan_is_seeded_and_balanced() -> None:
    plan = utterance_plan(3, seed=7, speed_range=(150, 200))
    assert plan == utterance_plan(3, seed=7, speed_range=(150, 200))
    assert plan != utterance_plan(3, seed=8, speed_range=(150, 200))
    assert [p["label"] for p in plan] == [d for d in range(10) for _ in range(3)]
    assert all(150 <= p["speed"] <= 200 for p in plan)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_spoken_digits_build_into_a_labelled_folder(tmp_path: Path) -> None:
    root = build(tmp_path / "digits", per_digit=2, seed=1)
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == sorted(DIGITS)
    clips = load_clips(AudioData(dataset="folder", path=root, sample_rate=8000, window=4096))
    assert len(clips) == 20 and clips.skipped == 0
    assert clips.class_names == list(DIGITS)  # numeric order, not alphabetical
    assert sorted(clips.labels.tolist()) == [d for d in range(10) for _ in range(2)]
