import itertools

import pytest
import torch

from auditkit.data.details import (
    DEFAULT_TEXT,
    SUIT_NAMES,
    default_details,
    detail_name,
    detail_region,
    render_detail,
    text_aspect,
    unique_names,
)

SUITS = list(SUIT_NAMES)


def _ink_box(d: torch.Tensor) -> tuple[int, int, int, int]:
    """(row0, row1, col0, col1), inclusive, of the pixels the detail touches."""
    rows = torch.nonzero(d.abs().sum(dim=1) > 0).flatten()
    cols = torch.nonzero(d.abs().sum(dim=0) > 0).flatten()
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


@pytest.mark.parametrize("symbol, size", [(s, 0.2) for s in SUITS] + [(DEFAULT_TEXT, 0.1)])
def test_glyphs_render_non_empty_in_range_and_deterministic(symbol, size):
    d = render_detail(symbol, (64, 64), size=size, position=(0.5, 0.5), intensity=0.7)
    assert d.shape == (64, 64) and d.dtype == torch.float64
    assert float(d.min()) >= 0.0 and float(d.max()) <= 0.7 + 1e-12
    assert float(d.max()) > 0.6  # some pixels fully covered
    assert int(((d > 0) & (d < 0.7)).sum()) > 0  # anti-aliased edge
    again = render_detail(symbol, (64, 64), size=size, position=(0.5, 0.5), intensity=0.7)
    assert torch.equal(d, again)


def test_size_and_position_place_the_ink_box():
    d = render_detail("♥", (128, 96), size=0.25, position=(0.3, 0.6), intensity=1.0)
    r0, r1, c0, c1 = _ink_box(d)
    assert abs((r1 - r0 + 1) - 0.25 * 128) <= 2  # height = size × H (± partial edge pixels)
    assert abs((r0 + r1 + 1) / 2 - 0.3 * 128) <= 1.0
    assert abs((c0 + c1 + 1) / 2 - 0.6 * 96) <= 1.0


def test_intensity_scales_linearly_and_may_be_negative():
    a = render_detail("♣", (48, 48), size=0.3, position=(0.5, 0.5), intensity=0.5)
    b = render_detail("♣", (48, 48), size=0.3, position=(0.5, 0.5), intensity=-0.25)
    torch.testing.assert_close(b, -0.5 * a)


def test_suits_are_distinct():
    ds = [render_detail(s, (64, 64), size=0.3, position=(0.5, 0.5), intensity=1.0) for s in SUITS]
    for a, b in itertools.combinations(ds, 2):
        assert float((a - b).norm()) > 0.25 * float(a.norm())


def test_detail_leaving_the_image_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        render_detail("♠", (64, 64), size=0.2, position=(0.02, 0.5), intensity=0.5)
    with pytest.raises(ValueError, match="does not fit"):
        render_detail(DEFAULT_TEXT, (64, 64), size=0.2, position=(0.5, 0.5), intensity=0.5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"size": 0.0}, "size"),
        ({"size": 1.5}, "size"),
        ({"position": (0.5, 1.2)}, "position"),
        ({"intensity": 0.0}, "intensity"),
        ({"intensity": 2.0}, "intensity"),
        ({"font": "No Such Font Family"}, "font"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs, match):
    args = {"size": 0.2, "position": (0.5, 0.5), "intensity": 0.5, **kwargs}
    with pytest.raises(ValueError, match=match):
        render_detail("♦", (64, 64), **args)


def test_missing_glyph_and_empty_text_are_refused():
    with pytest.raises(ValueError, match="no glyph"):
        render_detail("\u4e00", (64, 64), size=0.2, position=(0.5, 0.5), intensity=0.5)
    with pytest.raises(ValueError, match="text"):
        render_detail("   ", (64, 64), size=0.2, position=(0.5, 0.5), intensity=0.5)


@pytest.mark.parametrize("shape", [(32, 32), (64, 64), (128, 128), (256, 256), (64, 128), (128, 64), (48, 80)])
def test_default_details_fit_without_overlapping(shape):
    specs = default_details(shape)
    assert [s.name for s in specs] == ["spade", "heart", "diamond", "club", "can_u_see_it"]
    assert [s.text for s in specs] == SUITS + [DEFAULT_TEXT]
    ds = [s.render(shape) for s in specs]  # raises if any leaves the image
    assert all(float(d.max()) > 0 for d in ds)
    covered = torch.stack([(d > 0).int() for d in ds]).sum(dim=0)
    assert int(covered.max()) == 1


def test_default_details_keep_glyphs_legible_on_small_images():
    for n in (64, 128, 256):
        suit, text = default_details((n, n))[0], default_details((n, n))[-1]
        assert suit.size * n >= 6.0 and text.size * n >= 4.0
        assert text.size * text_aspect(DEFAULT_TEXT) <= 0.56 + 1e-9


def test_default_details_refuse_tiny_images():
    with pytest.raises(ValueError, match="shape"):
        default_details((16, 64))


def test_detail_region_covers_support_and_dilates():
    d = render_detail("♠", (64, 64), size=0.2, position=(0.5, 0.5), intensity=0.5)
    support = d > 0
    assert torch.equal(detail_region(d, 0), support)
    r2 = detail_region(d, 2)
    assert r2.dtype == torch.bool and bool((r2 | support).eq(r2).all())
    r0, r1, c0, c1 = _ink_box(d)
    b0, b1, e0, e1 = _ink_box(r2.double())
    assert (r0 - b0, b1 - r1, c0 - e0, e1 - c1) == (2, 2, 2, 2)
    with pytest.raises(ValueError, match="dilation"):
        detail_region(d, -1)
    with pytest.raises(ValueError, match="d must be"):
        detail_region(d[None], 2)


def test_names_are_safe_identifiers_and_unique():
    assert [detail_name(s) for s in SUITS] == ["spade", "heart", "diamond", "club"]
    assert detail_name("CAN U SEE IT") == "can_u_see_it"
    assert detail_name("★") == "black_star"
    assert detail_name("Tumour #2") == "tumour_2"
    assert unique_names(["♥", "♥", "A b", "a-b"]) == ["heart", "heart_2", "a_b", "a_b_2"]
