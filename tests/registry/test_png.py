"""The PNG encoder: bytes a real decoder reads back pixel for pixel, the same bytes every time."""

from __future__ import annotations

import io

import pytest

from registry.png import data_uri, encode_png


def test_png_round_trips_through_a_real_decoder():
    from PIL import Image  # matplotlib's dependency: an independent decoder

    rows = [[(255, 0, 0, 255), (0, 255, 0, 128), (0, 0, 0, 0)], [(1, 2, 3, 4), (250, 251, 252, 253), (9, 9, 9, 9)]]
    png = encode_png(rows)
    img = Image.open(io.BytesIO(png))
    assert img.size == (3, 2) and img.mode == "RGBA"
    assert [img.getpixel((x, y)) for y in range(2) for x in range(3)] == [px for row in rows for px in row]
    assert encode_png(rows) == png and data_uri(png).startswith("data:image/png;base64,iVBORw0KGgo")
    assert encode_png([[(0, 0, 0, 255)]]) != encode_png([[(0, 0, 1, 255)]])


@pytest.mark.parametrize("rows", [[], [[]], [[(0, 0, 0, 0)], [(0, 0, 0, 0), (0, 0, 0, 0)]]])
def test_empty_or_ragged_pixels_are_refused(rows):
    with pytest.raises(ValueError, match="rows of one length"):
        encode_png(rows)
