"""What each row of the headline and per-image tables is: the meaning of every evidence key a table shows.

The tables name their rows by the key under which ``evidence.json`` records the number (so a
reviewer can find it there), flattened as ``a.b`` and ``a[setting]``. A key's meaning is looked up
by its last names, settings in brackets dropped, the longest match first and a check's own entry
before a shared one: ``image_domain[0.01].relative_error`` of the adversarial check is
``adversarial:image_domain.relative_error``. The settings in brackets and the containers that hold
them are listed apart (``CONTAINERS``), so every part of a row's name is defined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

_SETTING = re.compile(r"\[[^\]]*\]")


@dataclass(frozen=True)
class Quantity:
    """One table key (its last names, settings dropped) and what the number under it is."""

    key: str
    meaning: str


#: row keys, ``check:suffix`` for a meaning proper to one check, else ``suffix``.
QUANTITIES: dict[str, str] = {
    # adversarial
    "adversarial:image_domain.change": "Δ of the worst image-domain perturbation found at this budget (‖r‖ = ε‖x‖).",
    "adversarial:image_domain.local_change": "Δ_loc (worst patch) of that perturbation.",
    "adversarial:image_domain.amplification": "‖f(A(x + r)) − f(Ax)‖ / ‖Ar‖ for that perturbation r.",
    "adversarial:image_domain.gain": "Δ / ε: the change per unit of perturbation size (the criterion's against-its-size ratio).",
    "adversarial:image_domain.relative_error": "‖f(A(x + r)) − (x + r)‖ / ‖x + r‖: the error against the object measured, at the "
    "perturbation that maximised the change (not the largest error).",
    "change_at_first_crossing": "Δ of the ascent's iterate when its size first reached the budget, before the refinement on the sphere.",
    "crossed_at_iteration": "Ascent iteration at which the perturbation's size first reached the budget; — when it never did "
    "(the rung was reached by rescaling the last iterate).",
    "share_at_half_budget": "s: worst case found at half the search's evaluations over the worst case at the end (see the glossary).",
    "change_under_network_perturbation": "The baseline's change under the perturbation found for the network (same r or e): "
    "what the network's worst case does to the stable method.",
    "adversarial:measurement_domain.change": "‖f(y + e) − f(y)‖ / ‖x‖ for the worst measurement perturbation found at this η.",
    "adversarial:measurement_domain.amplification": "κ = ‖f(y + e) − f(y)‖ / ‖e‖ for that perturbation e.",
    "adversarial:measurement_domain.relative_error": "RE of f(y + e) against x, at the perturbation that maximised the change.",
    "restart": "Which restart of the projected ascent found the worst case (0 = the first; — where no search ran, at η = 0).",
    "gradient_evaluations.image_domain": "Gradient evaluations the image-domain search spent on this image.",
    "gradient_evaluations.measurement_domain": "Gradient evaluations the measurement-domain search spent on this image.",
    "relative_error_unperturbed": "RE of f(Ax) against x, without perturbation (the largest over the images in the "
    "adversarial summary).",
    "relative_error_unperturbed_measured": "RE of f(y) against x, without perturbation, y the measurements the "
    "measurement-domain search starts from (the acquired k-space for a raw image; f(Ax) otherwise).",
    "tradeoff:relative_error_unperturbed": "RE of f(Ax) against x, without noise (in the summary, max/mean/min/std over "
    "the images follow).",
    "worst_case_change": "Largest Δ over the images at this budget.",
    "worst_case_local_change": "Largest Δ_loc over the images at this budget.",
    "worst_case_amplification": "Largest amplification (κ in the measurement domain) over the images at this budget.",
    "worst_case_gain": "Largest Δ / ε over the images at this budget.",
    "worst_case_relative_error": "Largest over the images of the relative error at the perturbation found (against x + r in the "
    "image domain, x in the measurement domain); the searches maximise the change, not the error.",
    "mean_change": "Mean of the worst-case change over the images at this budget.",
    # structural
    "correlation": "ρ: shape agreement of the shown change with the detail in its region (worst image in a summary).",
    "structural:relative_error": "ε_R: error of the shown change against the detail in its region (worst image in a summary).",
    "recovered_fraction": "q = 1 − ε_R² (least over the images in a summary).",
    "ghost_contrast": "G: brightest echo of the detail outside its region, as a fraction of its contrast (largest in a summary).",
    "kept_fraction": "The norm of the detail after clipping x + d to [0, 1] at its place on this image over its norm "
    "before: the part of the detail actually added.",
    "together_recovered_fraction": "q with all details inserted at once (least over the images).",
    "worst_recovered_fraction": "Least q over details and images.",
    "structural:worst_image": "The image with the least q for this detail.",
    "noise:worst_image": "The image with the largest p_upper at this level.",
    # sampling
    "ratios": "The sampling ratios ν the check measured at.",
    "n_angles": "CT: the number of projection angles at each ratio.",
    "psnr": "PSNR of the reconstruction at the ratio in brackets.",
    "ssim": "SSIM of the reconstruction at the ratio in brackets.",
    "max": "Largest value over the images.",
    "min": "Least value over the images.",
    "mean": "Mean over the images.",
    "std": "Standard deviation over the images.",
    "largest_drop_db": "D: largest fall of the mean PSNR from a ratio to a higher one, in dB.",
    "gain_db": "Mean PSNR at the highest ratio minus that at the lowest, in dB.",
    # noise
    "probability": "p: harmful draws / draws (survival: surviving draws / draws).",
    "ci_low": "Lower end of p's Clopper–Pearson interval.",
    "ci_high": "p_upper: upper end of p's Clopper–Pearson interval.",
    "confidence": "The interval's confidence level c.",
    "events": "j: harmful draws (survival: draws in which the artefact survived).",
    "trials": "n: draws.",
    "threshold": "τ: the change above which a draw counts as harmful on this image.",
    "threshold_range": "Least and largest τ over the images.",
    "worst_probability": "p on the image where the upper bound is largest.",
    "worst_ci_high": "p_upper on that image (the criterion's value).",
    "relative_change.p5": "5th percentile of ‖f(y + e) − f(y)‖ / ‖f(y)‖ over the draws.",
    "relative_change.p50": "Median of that change over the draws.",
    "relative_change.p95": "95th percentile of that change over the draws.",
    "relative_change.mean": "Mean of that change over the draws.",
    "relative_change.max": "Largest change over the draws.",
    "p5": "5th percentile of the change over all draws of all images.",
    "p50": "Median of the change over all draws of all images.",
    "p95": "95th percentile of the change over all draws of all images.",
    "noise:max": "Largest change over all draws of all images.",
    "noise:mean": "Mean change over all draws of all images.",
    "worst_change": "‖f(A(x + r₁)) − f(Ax)‖ / ‖f(Ax)‖: the worst case whose survival is tested.",
    # hallucination
    "largest_patch_energy": "Largest I_P over the interior patches (largest over the images in a summary); reported: "
    "the criterion compares every patch with the same patch of the baseline.",
    "largest_border_patch_energy": "Largest I_P over the patches of the border frame (reported, not judged).",
    "largest_patch_image": "The image with the largest interior I_P.",
    "kernel_error_relative": "h = ‖P_N(f(Ax) − x)‖ / ‖x‖.",
    "kernel_content_relative": "‖P_N f(Ax)‖ / ‖x‖: all unmeasured content of the reconstruction.",
    "image_kernel_share": "‖P_N x‖² / ‖x‖²: the share of the image's energy the measurements do not see.",
    "kernel_detail_shown": "γ: the fraction of a kernel detail the method shows, fitted on the detail's region (largest "
    "over the images in a summary; negative: what the method puts there runs opposite to d; — when not separable "
    "from the image).",
    "invented_energy": "I_P on this patch, in units of ‖x‖².",
    "kernel_error_energy": "‖P_N(f(Ax) − x)‖²_P on this patch, in units of ‖x‖².",
    "row": "Patch's top row (pixels).",
    "col": "Patch's left column (pixels).",
    "height": "Patch height (pixels).",
    "width": "Patch width (pixels).",
    # tradeoff
    "tradeoff:relative_error": "RE_η: worst-case relative error at the level in brackets.",
    "local_error": "E_loc: worst-patch error of that reconstruction.",
    "found_at_eta": "The level η whose search supplied the kept worst case: the balls ‖e‖ ≤ η‖Ax‖ are nested, so a "
    "level may keep a perturbation that another level's search found.",
    "local_lipschitz": "L from the first positive level: (E(η₁) − E(0)) / η₁.",
    "local_lipschitz_fit": "L as the least-squares slope of E over the levels in local_lipschitz_etas.",
    "local_lipschitz_etas": "The levels η of that fit.",
}

#: the names that hold other rows; the setting in brackets after them is what the row was measured at.
CONTAINERS: dict[str, str] = {
    "image_domain[ε]": "Image-domain search at budget ε = ‖r‖/‖x‖.",
    "measurement_domain[η]": "Measurement-domain search at noise level η = ‖e‖/‖Ax‖.",
    "measurement_domain": "(summary) the measurement-domain search's numbers; settings in brackets are η.",
    "gradient_evaluations": "Evaluations spent by each search on the image.",
    "details.<name>, detail_recovery.<name>": "The structural detail named (per image / worst over images).",
    "together": "The same numbers with all details inserted at once (its ghost contrast measures echoes outside "
    "every detail's region, so it is the same for all details of an image).",
    "levels[η], exceedance_by_level[η], relative_change_by_level[η]": "Random measurement noise at level η (per image / over images).",
    "survival.by_ratio[s], survival[s]": "Survival of the worst case under Gaussian noise of size s‖r₁‖.",
    "psnr_by_ratio[ν], ssim_by_ratio[ν], psnr[ν], ssim[ν]": "The reconstruction at sampling ratio ν.",
    "largest_patches[i]": "The i-th largest patch by I_P (0 = the largest).",
    "worst_case_error[η], worst_case_error_by_eta[η], local_error_by_eta[η]": "The trade-off search at noise level η.",
    "[budget], [η]": "After a summary quantity: the budget or level it was measured at.",
    "—": "In a cell: nothing to report there (a detail clipped away, fewer patches than rows, no search at η = 0, a "
    "quantity the subject does not have).",
}


def suffixes(name: str) -> list[str]:
    """A flattened key's candidate entries, longest first: ``a[1].b.c`` → ``a.b.c``, ``b.c``, ``c``."""
    parts = _SETTING.sub("", name).split(".")
    return [".".join(parts[i:]) for i in range(len(parts)) if parts[i:] != [""]]


def quantity_of(check: str, name: str) -> Quantity | None:
    """The entry that defines a table row ``name`` of ``check``, the longest and most particular first."""
    for suffix in suffixes(name):
        for key in (f"{check}:{suffix}", suffix):
            if key in QUANTITIES:
                return Quantity(key.split(":", 1)[-1], QUANTITIES[key])
    return None


def quantities_shown(rows: Iterable[tuple[str, str]]) -> list[tuple[str, Quantity]]:
    """(check, entry) for every distinct entry behind ``(check, row name)`` pairs, in order of first use."""
    seen: dict[tuple[str, str], Quantity] = {}
    for check, name in rows:
        q = quantity_of(check, name)
        if q is not None:
            seen.setdefault((check, q.key), q)
    return [(check, q) for (check, _), q in seen.items()]
