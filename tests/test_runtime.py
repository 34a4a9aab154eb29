"""Process runtime tuning (landgis._runtime): malloc is tuned once, a user's own setting is kept."""

from __future__ import annotations


def test_malloc_is_tuned_once_per_process_and_an_explicit_setting_is_kept(monkeypatch):
    import landgis._runtime as screening

    calls = []

    class FakeLibc:
        def mallopt(self, param, value):
            calls.append((param, value))
            return 1

    monkeypatch.setattr(screening.ctypes, "CDLL", lambda name: FakeLibc())
    monkeypatch.setattr(screening, "_malloc_tuned", False)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    screening.tune_malloc()
    screening.tune_malloc()
    assert calls == [(-3, 4 << 20)]        # M_MMAP_THRESHOLD, 4 MiB, once
    monkeypatch.setattr(screening, "_malloc_tuned", False)
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    screening.tune_malloc()
    assert calls == [(-3, 4 << 20)]        # the user's own setting wins
