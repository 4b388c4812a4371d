import numpy as np
import torch

from auditkit.arrays import ArraySink, load_npz, save_npz


def test_npz_bytes_are_deterministic(tmp_path):
    arrays = {"b": torch.arange(6.0).reshape(2, 3), "a": np.ones(3, dtype=np.complex64)}
    save_npz(tmp_path / "one.npz", arrays)
    save_npz(tmp_path / "two.npz", dict(reversed(list(arrays.items()))))
    assert (tmp_path / "one.npz").read_bytes() == (tmp_path / "two.npz").read_bytes()
    back = load_npz(tmp_path / "one.npz")
    np.testing.assert_array_equal(back["b"], arrays["b"].numpy())
    assert back["a"].dtype == np.complex64


def test_sink_returns_relative_name(tmp_path):
    name = ArraySink(tmp_path).save("check_x", v=np.zeros(2))
    assert name == "arrays/check_x.npz"
    assert (tmp_path / name).exists()
