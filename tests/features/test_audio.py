import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from apc.errors import ApcInputError
from apc.features.audio import (
    MelSettings,
    load_audio,
    log_mel,
    log_mel_batch,
    log_mel_file,
    log_mels_from_files,
    log_mels_from_signals,
    mel_band_of,
)

SR = 22_050


def sine(freq: float, seconds: float, sr: int = SR, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_sine_energy_in_the_right_mel_band():
    y = sine(1000.0, 2.0)
    m = log_mel(y)
    # centred frames: 1 + n_samples // hop
    assert m.shape == (128, 1 + len(y) // 512)
    assert m.dtype == np.float32
    profile = m[:, 5:-5].mean(axis=1)
    peak = int(np.argmax(profile))
    assert abs(peak - mel_band_of(1000.0)) <= 1
    # a tone two octaves lower peaks in a clearly lower band
    low = int(np.argmax(log_mel(sine(250.0, 2.0))[:, 5:-5].mean(axis=1)))
    assert low < peak - 10


def test_log1p_scale_matches_the_definition():
    import librosa

    y = sine(440.0, 1.0)
    s = MelSettings()
    mel = librosa.feature.melspectrogram(
        y=y, sr=SR, n_fft=1024, hop_length=512, n_mels=128, power=2.0
    )
    np.testing.assert_allclose(log_mel(y, s), np.log1p(10_000.0 * mel), rtol=1e-5, atol=1e-5)
    # silence is exactly zero under log(1 + C x)
    assert log_mel(np.zeros(SR, np.float32)).max() == 0.0


def test_db_compression_is_bounded_by_80_db():
    m = log_mel(sine(440.0, 1.0), MelSettings(compression="db"))
    assert m.max() - m.min() <= 80.0 + 1e-3


def test_bad_settings_raise():
    with pytest.raises(ApcInputError, match="compression"):
        MelSettings(compression="cube").validate()


def test_load_resamples_to_22050_and_mixes_to_mono(tmp_path):
    y = sine(440.0, 1.0, sr=44_100)
    stereo = np.stack([y, y], axis=1)
    path = tmp_path / "a.wav"
    sf.write(path, stereo, 44_100)
    out = load_audio(path)
    assert out.dtype == np.float32 and out.ndim == 1
    assert len(out) == SR  # 1 s at 22,050 Hz
    # the tone survives resampling: its band is the 440 Hz band
    peak = int(np.argmax(log_mel(out)[:, 3:-3].mean(axis=1)))
    assert abs(peak - mel_band_of(440.0)) <= 1


def test_crop_keeps_the_middle(tmp_path):
    y = np.concatenate([np.zeros(SR, np.float32), sine(440, 1.0), np.zeros(SR, np.float32)])
    path = tmp_path / "c.flac"
    sf.write(path, y, SR)
    out = load_audio(path, MelSettings(max_seconds=1.0))
    assert len(out) == SR
    assert np.abs(out).max() > 0.4  # the middle second is the tone, not the silence


def test_bad_and_missing_files_are_reported_not_raised(tmp_path):
    good = tmp_path / "good.wav"
    sf.write(good, sine(440.0, 1.0), SR)
    garbage = tmp_path / "garbage.ogg"
    garbage.write_bytes(b"this is not audio at all" * 50)
    truncated = tmp_path / "truncated.flac"
    sf.write(truncated, sine(440.0, 1.0), SR)
    truncated.write_bytes(truncated.read_bytes()[:60])  # header only, cut mid-stream
    missing = tmp_path / "missing.wav"
    specs, report = log_mels_from_files(
        [good, garbage, truncated, missing, None], ["g", "x", "t", "m", "none"]
    )
    assert specs[0] is not None and specs[0].shape[0] == 128
    assert specs[1] is None and specs[2] is None and specs[3] is None and specs[4] is None
    assert list(report.columns) == ["track", "path", "error"]
    assert sorted(report["track"]) == ["m", "t", "x"]  # no audio (None) is not an error
    assert "no such audio file" in report.set_index("track").loc["m", "error"]


def test_single_file_errors_are_apc_input_errors(tmp_path):
    with pytest.raises(ApcInputError, match="no such audio file"):
        log_mel_file(tmp_path / "nope.wav")


def test_cache_hit_and_invalidation_on_change(tmp_path):
    path = tmp_path / "a.wav"
    sf.write(path, sine(440.0, 1.0), SR)
    cache = tmp_path / "cache"
    first = log_mel_file(path, cache_dir=cache)
    files = list(cache.rglob("*.npy"))
    assert len(files) == 1
    again = log_mel_file(path, cache_dir=cache)
    np.testing.assert_array_equal(first, again)
    assert len(list(cache.rglob("*.npy"))) == 1  # reused, not recomputed under a new key
    # a changed file (new content and mtime) gets a new entry with the new content
    sf.write(path, sine(2000.0, 1.0), SR)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    changed = log_mel_file(path, cache_dir=cache)
    assert len(list(cache.rglob("*.npy"))) == 2
    assert int(np.argmax(changed.mean(axis=1))) > int(np.argmax(first.mean(axis=1)))
    # other settings -> another entry
    log_mel_file(path, MelSettings(n_mels=64), cache_dir=cache)
    assert len(list(cache.rglob("*.npy"))) == 3


def test_signals_are_resampled_and_cached(tmp_path):
    y = sine(1000.0, 1.0, sr=16_000)
    [m] = log_mels_from_signals([y], sr=16_000, cache_dir=tmp_path)
    assert m.shape == (128, 1 + SR // 512)
    assert abs(int(np.argmax(m[:, 3:-3].mean(axis=1))) - mel_band_of(1000.0)) <= 1
    assert len(list(Path(tmp_path).rglob("*.npy"))) == 1


def test_batched_signals_equal_one_clip_at_a_time(tmp_path, monkeypatch):
    # log_mels_from_signals runs equally long clips through log_mel_batch (issue 13)
    ys = [sine(f, 1.0) for f in (300.0, 1000.0, 4000.0)] + [None, sine(500.0, 0.5)]
    got = log_mels_from_signals(ys, sr=SR, cache_dir=tmp_path)
    for y, m in zip(ys, got, strict=True):
        if y is None:
            assert m is None
        else:
            np.testing.assert_allclose(m, log_mel(y), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(log_mel_batch(np.stack(ys[:3])), np.stack(got[:3]), atol=1e-5)
    assert len(list(Path(tmp_path).rglob("*.npy"))) == 4
    # a second call reads every clip from the cache: nothing is computed
    import apc.features.audio as audio_mod

    def boom(*a, **k):
        raise AssertionError("recomputed")

    monkeypatch.setattr(audio_mod, "log_mel_batch", boom)
    again = log_mels_from_signals(ys, sr=SR, cache_dir=tmp_path)
    for a, b in zip(again, got, strict=True):
        assert (a is None and b is None) or np.array_equal(a, b)


@pytest.mark.realdata
def test_real_ogg_clips_decode(shared_data):
    clips = sorted((shared_data / "audio").glob("*.ogg"))
    assert len(clips) >= 5
    specs, report = log_mels_from_files(clips, settings=MelSettings(max_seconds=10.0))
    assert report.empty, report
    for s in specs:
        assert s.shape == (128, 1 + 10 * SR // 512)
        assert np.isfinite(s).all() and s.max() > 1.0  # real music, not silence
