"""device.heap: freed memory is kept for the next photo, so a run over many photos stops page-faulting per photo."""
from __future__ import annotations

import ctypes
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from device.heap import keep_heap_pad

REPO = Path(__file__).resolve().parents[2]
GLIBC = sys.platform.startswith("linux") and hasattr(ctypes.CDLL(None), "gnu_get_libc_version")

# Decode + preprocess the same photos round after round, as a folder run does; print the minor page faults per
# photo of the last rounds (the first ones grow the heap, which any allocator must do once).
_FAULTS_PER_PHOTO = textwrap.dedent(
    """
    import resource, sys
    from pathlib import Path
    import numpy as np
    from PIL import Image
    from device.heap import keep_heap_pad
    from device.preprocess import PreprocessConfig, load_and_preprocess

    folder, pad = Path(sys.argv[1]), sys.argv[2] == "pad"
    rng = np.random.default_rng(0)
    photos = []
    for i, size in enumerate([(320, 240), (500, 333), (240, 320), (333, 500)] * 3):
        path = folder / f"photo{i}.jpg"
        Image.fromarray(rng.integers(0, 256, size[::-1] + (3,), dtype=np.uint8)).save(path, quality=90)
        photos.append(path)
    if pad:
        assert keep_heap_pad()
    config = PreprocessConfig(224, 224)
    faults = []
    for _ in range(6):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        kept = [load_and_preprocess(p, config) for p in photos]  # results held, as a pipeline's queue holds them
        faults.append((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / len(photos))
    print(max(faults[3:]))
    """
)


def _faults_per_photo(tmp_path: Path, pad: bool) -> float:
    result = subprocess.run(
        [sys.executable, "-c", _FAULTS_PER_PHOTO, str(tmp_path), "pad" if pad else "no-pad"],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    return float(result.stdout.strip())


@pytest.mark.skipif(not GLIBC, reason="the heap pad is a glibc malloc setting")
def test_with_the_heap_pad_photo_after_photo_costs_few_page_faults(tmp_path: Path) -> None:
    """Against a control in the same run: without the pad glibc hands the heap top back and faults it in again for
    every photo (a 224 x 224 model input alone is 37 pages); with it the photos reuse the kept memory, so the faults
    per photo at least halve (how many depends on the libraries' allocations: docs/benchmarks.md)."""
    without, with_pad = _faults_per_photo(tmp_path, pad=False), _faults_per_photo(tmp_path, pad=True)
    assert with_pad * 2 < without, (with_pad, without)


@pytest.mark.skipif(not GLIBC, reason="the heap pad is a glibc malloc setting")
def test_keep_heap_pad_is_applied_once_and_never_lowered() -> None:
    assert keep_heap_pad() is True
    assert keep_heap_pad(1024) is True  # smaller than the pad already kept: nothing to do
    with pytest.raises(ValueError, match="pad_bytes"):
        keep_heap_pad(-1)


def test_classify_many_leaves_the_malloc_policy_alone() -> None:
    """A library call changes nothing process-wide: only edge-classify (or the caller) opts in to the heap pad."""
    code = textwrap.dedent(
        """
        import numpy as np
        from device import heap
        from device.batch import classify_many

        calls = []
        heap._glibc_mallopt = lambda: calls.append(1)  # any attempt to change the policy is recorded

        class Fake:
            class interpreter:
                num_threads = 1

            def prepare(self, source):
                return np.zeros(1, np.float32)

            def scores(self, pixels):
                return pixels

            def rank(self, scores, top_k, threshold):
                return [("a", 1.0)]

        assert len(list(classify_many(Fake(), ["x", "y"], workers=1))) == 2
        print("mallopt calls:", len(calls))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "mallopt calls: 0" in out.stdout
