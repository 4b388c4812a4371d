"""The figure of the raw test data: each raw slice's reference image and the coil maps it was combined with.

Drawn from ``arrays/test_data.npz`` (``dossier.layout.TEST_DATA_ARRAYS``): ``image_<n>`` the reference |x_c| of test image n
in [0, 1] and, for multi-coil data, ``maps_<n>`` the magnitudes |S_c| (C, H, W) of its sensitivity maps
(Σ_c |S_c|² = 1, so every map lies in [0, 1] and shares the image window). At most ``MAX_SLICES`` slices are
shown, in test-image order.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from auditkit.dossier import layout
from auditkit.report.figures.figure_ref import TEST_DATA, FigureRef
from auditkit.report.figures.style import FULL_WIDTH, new_figure, save, show_image

if TYPE_CHECKING:
    from auditkit.evidence import Evidence

#: the most raw slices the figure shows (rows), and the most coils per row.
MAX_SLICES, MAX_COILS = 3, 8


def draw(evidence: "Evidence", root: Path) -> list[FigureRef]:
    """The reference and |S_c| of the first raw slices, one row each; nothing when the audit has no raw data."""
    from auditkit.arrays import load_npz

    path = Path(root) / layout.ARRAYS / f"{layout.TEST_DATA_ARRAYS}.npz"
    if not path.is_file():
        return []
    data = load_npz(path)
    rows = [(n, str(img.get("id")), img) for n, img in enumerate(evidence.images) if f"image_{n}" in data][:MAX_SLICES]
    if not rows:
        return []
    coils = max((data[f"maps_{n}"].shape[0] for n, _, _ in rows if f"maps_{n}" in data), default=0)
    columns = 1 + min(coils, MAX_COILS)
    side = FULL_WIDTH / max(columns, 3)
    fig = new_figure(FULL_WIDTH if columns >= 3 else side * columns, side * len(rows) + 0.3)
    axes = np.atleast_2d(fig.subplots(len(rows), columns, squeeze=False))
    for r, (n, image_id, _) in enumerate(rows):
        show_image(axes[r, 0], data[f"image_{n}"], "reference" if r == 0 else None)
        axes[r, 0].set_ylabel(image_id)
        maps = data.get(f"maps_{n}")
        for c in range(1, columns):
            ax = axes[r, c]
            if maps is None or c > maps.shape[0]:
                ax.set_axis_off()
                continue
            show_image(ax, maps[c - 1], f"|S_{c}|" if r == 0 else None)
    methods = sorted({str(img.get("coil_maps")) for _, _, img in rows if img.get("coil_maps")})
    shown = f"; the first {MAX_COILS} of {coils} coils" if coils > MAX_COILS else ""
    caption = (
        "The reference image of each raw slice, |Σ_c conj(S_c) F⁻¹k_c| of the fully sampled, "
        "de-oversampled k-space divided by its maximum (grey window [0, 1])"
        + (f", and the magnitudes of the coil sensitivity maps S_c it was combined with (Σ_c |S_c|² = 1, window "
           f"[0, 1]{shown}). Maps: {' / '.join(methods)}. Where a slice gives no signal (background, dark regions) "
           f"estimated maps are not determined by the data; they are extended there from the neighbourhood, and a "
           f"structural detail placed there is not measured." if coils else "; single-coil data needs no maps.")
    )
    return [save(fig, root, TEST_DATA, "coil_maps" if coils else "reference", "Raw test data: reference and coil maps"
                 if coils else "Raw test data: reference", caption)]
