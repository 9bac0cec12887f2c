"""One module converts pixel ranges: round trips are exact and wrong inputs are refused with the name."""

from __future__ import annotations

import numpy as np
import pytest

from medganbench.errors import ConfigError
from medganbench.imageconv import (
    as_uint8_nhwc,
    float_to_unit,
    model_input,
    require_uint8_nhwc,
    to_float,
    to_uint8,
    to_unit,
    unit_to_uint8,
)

ALL = np.arange(256, dtype=np.uint8).reshape(4, 8, 8, 1)


def test_round_trips_are_exact_on_every_uint8_value():
    f = to_float(ALL)
    assert f.dtype == np.float32 and f.min() == -1.0 and f.max() == 1.0
    np.testing.assert_array_equal(to_uint8(f), ALL)
    u = to_unit(ALL)
    assert u.dtype == np.float64 and u.min() == 0.0 and u.max() == 1.0
    np.testing.assert_array_equal(unit_to_uint8(u), ALL)
    np.testing.assert_array_equal(unit_to_uint8(float_to_unit(f)), ALL)
    assert to_unit(ALL, np.float32).dtype == np.float32
    np.testing.assert_array_equal(model_input(ALL), f)
    np.testing.assert_array_equal(model_input(f), f)  # already in the model's range: unchanged


def test_out_of_range_values_are_clipped_not_wrapped():
    np.testing.assert_array_equal(to_uint8(np.array([-3.0, -1.0, 0.0, 1.0, 7.0])), [0, 0, 128, 255, 255])
    np.testing.assert_array_equal(unit_to_uint8(np.array([-0.2, 0.5, 1.4])), [0, 128, 255])
    np.testing.assert_array_equal(float_to_unit(np.array([-2.0, 0.0, 2.0])), [0.0, 0.5, 1.0])


def test_wrong_dtypes_and_shapes_are_refused_with_the_name():
    with pytest.raises(ConfigError, match="to_float expects uint8 images in \\[0, 255\\], got float32"):
        to_float(to_float(ALL))  # converted twice
    with pytest.raises(ConfigError, match="^generated must be uint8 images in \\[0, 255\\], got float64"):
        require_uint8_nhwc(np.zeros((2, 4, 4)), "generated")
    with pytest.raises(ConfigError, match="train_images must be \\(N, H, W\\) or \\(N, H, W, C\\)"):
        require_uint8_nhwc(np.zeros((4, 4), np.uint8), "train_images")
    assert require_uint8_nhwc(ALL[..., 0]).shape == ALL.shape
    with pytest.raises(ConfigError, match="got dtype int16"):
        as_uint8_nhwc(ALL.astype(np.int16))
    with pytest.raises(ConfigError, match="C=1 or 3"):
        as_uint8_nhwc(np.zeros((2, 4, 4, 2), np.uint8))
    np.testing.assert_array_equal(as_uint8_nhwc(to_float(ALL)), ALL)
