"""Reading PyTorch state dicts without PyTorch: values, both file layouts, and what is refused."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests.trainer.torch_files import Global, write_legacy, write_zip
from trainer.torch_pickle import TorchFileError, read_state_dict


def _state():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((3, 4)).astype(np.float32)
    return {
        "conv.weight": rng.standard_normal((8, 3, 3, 3)).astype(np.float32),
        "bn.running_var": rng.random(8).astype(np.float64),
        "bn.num_batches_tracked": np.array(7, dtype=np.int64),
        # a transposed view starting at element 1 of its storage: shape (3, 3), strides (1, 4)
        "fc.weight": (base, 1, (3, 3), (1, 4)),
    }


@pytest.mark.parametrize("writer", [write_legacy, write_zip], ids=["legacy", "zip"])
def test_tensors_come_back_with_their_values_shapes_and_types(tmp_path: Path, writer) -> None:
    state = _state()
    got = read_state_dict(writer(tmp_path / "w.pth", state))
    assert list(got) == list(state)
    np.testing.assert_array_equal(got["conv.weight"], state["conv.weight"])
    assert got["bn.running_var"].dtype == np.float64
    assert got["bn.num_batches_tracked"].shape == () and int(got["bn.num_batches_tracked"]) == 7
    base = state["fc.weight"][0].reshape(-1)
    expected = np.array([[base[1 + i + 4 * j] for j in range(3)] for i in range(3)])
    np.testing.assert_array_equal(got["fc.weight"], expected)


def test_a_file_naming_any_other_code_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pth"
    write_legacy(path, {}, payload=_Call(Global("os", "system"), (f"touch {marker}",)))
    with pytest.raises(TorchFileError, match=r"evil\.pth: refers to os\.system"):
        read_state_dict(path)
    assert not marker.exists()


class _Call:
    def __init__(self, func: Global, args: tuple) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def test_a_truncated_file_is_one_error_naming_it(tmp_path: Path) -> None:
    path = write_legacy(tmp_path / "w.pth", _state())
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(TorchFileError, match=r"w\.pth: storage .* truncated"):
        read_state_dict(path)


def test_something_else_than_a_state_dict_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.pth"
    text.write_text("not a pickle at all")
    with pytest.raises(TorchFileError, match=r"notes\.pth: not a readable PyTorch state dict"):
        read_state_dict(text)
    listing = write_legacy(tmp_path / "list.pth", {}, payload=[1, 2, 3])
    with pytest.raises(TorchFileError, match=r"list\.pth: not a state dict"):
        read_state_dict(listing)


def test_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        read_state_dict(tmp_path / "absent.pth")
    assert not os.path.exists(tmp_path / "absent.pth")
