"""The metrics of the dossier, each with its formula: the glossary printed at the end of every report.

One entry per quantity the checks record, so a reviewer can read every number in
the dossier without the source code. Norms are ℓ2 over all pixels (complex
modulus), images are scaled to [0, 1], and the data range of PSNR and SSIM is 1.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GlossaryEntry:
    """One metric: its name, symbol, defining formula and what it means."""

    term: str
    symbol: str
    formula: str
    meaning: str


#: Notation used throughout the dossier (printed above the glossary).
NOTATION: tuple[tuple[str, str], ...] = (
    ("x", "test image, intensities in [0, 1]"),
    ("A", "forward operator (MRI: P_Ω F, CT: Radon transform); A* its adjoint, A† its pseudo-inverse"),
    ("y = Ax", "noise-free measurements of x"),
    ("f", "a reconstruction method: the network under audit or the baseline"),
    ("r, e", "perturbation in the image domain (r) or in the measurement domain (e)"),
    ("‖·‖", "ℓ2 norm over all pixels or measurements (modulus for complex values)"),
    ("|·|", "pixel-wise modulus; the image compared for complex reconstructions"),
)


GLOSSARY: tuple[GlossaryEntry, ...] = (
    GlossaryEntry(
        "Relative error",
        "RE",
        "RE(x̂, x) = ‖x̂ − x‖ / ‖x‖",
        "Size of the reconstruction error relative to the image; 0 is perfect.",
    ),
    GlossaryEntry(
        "Peak signal-to-noise ratio",
        "PSNR",
        "PSNR = 10 log₁₀(1 / MSE),  MSE = mean over pixels of (|x̂| − x)²",
        "In dB, with the data range of the ground truth (peak 1 for [0, 1] images); higher is better.",
    ),
    GlossaryEntry(
        "Structural similarity",
        "SSIM",
        "mean over pixels of [(2μ_a μ_b + C₁)(2σ_ab + C₂)] / [(μ_a² + μ_b² + C₁)(σ_a² + σ_b² + C₂)]",
        "Local means μ, variances σ² and covariance σ_ab under a Gaussian window (σ = 1.5), "
        "C₁ = (0.01)², C₂ = (0.03)² for data range 1; 1 is identical.",
    ),
    GlossaryEntry(
        "Relative perturbation size (image domain)",
        "‖r‖/‖x‖",
        "budget = ‖r‖ / ‖x‖",
        "How large an image-domain perturbation r is compared with the image.",
    ),
    GlossaryEntry(
        "Noise level (measurement domain)",
        "η",
        "η = ‖e‖ / ‖Ax‖",
        "How large a measurement perturbation e is compared with the measurements.",
    ),
    GlossaryEntry(
        "Change caused by a perturbation",
        "Δ",
        "Δ = ‖f(A(x + r)) − f(Ax)‖ / ‖x‖",
        "How far the reconstruction moves when the image is perturbed by r, relative to the image.",
    ),
    GlossaryEntry(
        "Worst-case amplification",
        "κ",
        "κ = ‖f(y + e) − f(y)‖ / ‖e‖  (largest value found by the attack)",
        "How much a method magnifies a measurement perturbation; for a linear method f(y) = By it "
        "cannot exceed the largest singular value σ_max(B).",
    ),
    GlossaryEntry(
        "Worst-case relative error at a noise level",
        "RE_η",
        "RE_η = max over ‖e‖ ≤ η‖Ax‖ of ‖|f(Ax + e)| − x‖ / ‖x‖  (projected attack, best of the restarts)",
        "The accuracy a method keeps against the worst perturbation of the given size; plotted "
        "against η it shows the accuracy–stability trade-off.",
    ),
    GlossaryEntry(
        "Detail change",
        "Δ_d",
        "Δ_d = |f(A(x + d))| − |f(Ax)|",
        "What a reconstruction shows of a detail d added to the image.",
    ),
    GlossaryEntry(
        "Normalised correlation in the detail region",
        "ρ",
        "ρ = ⟨Δ_d, d⟩_R / (‖Δ_d‖_R ‖d‖_R)",
        "Shape agreement of the shown change with the detail inside its region R (the detail's "
        "support, dilated); blind to contrast.",
    ),
    GlossaryEntry(
        "Relative error in the detail region",
        "ε_R",
        "ε_R = ‖Δ_d − d‖_R / ‖d‖_R",
        "How far the shown change is from the detail inside R.",
    ),
    GlossaryEntry(
        "Recovered fraction",
        "q",
        "q = 1 − ε_R²",
        "1 perfect, 0 nothing shown (or an error as large as the detail), below 0 worse than nothing; a "
        "detail shown exactly in shape at a fraction a of its contrast has q = 1 − (1 − a)².",
    ),
    GlossaryEntry(
        "Sampling ratio",
        "ν",
        "ν = number of measured samples / number of samples of a full acquisition",
        "For CT the setting is the number of angles n; ν = n / n_full.",
    ),
    GlossaryEntry(
        "Largest quality drop with more samples",
        "D",
        "D = max(0, max over ν_i < ν_j of m(ν_i) − m(ν_j)),  m(ν) = mean PSNR at ratio ν",
        "How much the mean PSNR falls between any ratio and a higher one (dB); 0 if it never falls.",
    ),
    GlossaryEntry(
        "Harmful-draw probability",
        "p",
        "p = P(‖f(y + e) − f(y)‖ / ‖f(y)‖ > τ),  e Gaussian with ‖e‖ ≈ η‖y‖",
        "Estimated as j/n for j harmful draws out of n; reported with its exact (Clopper–Pearson) "
        "confidence interval.",
    ),
    GlossaryEntry(
        "Clopper–Pearson upper bound",
        "p_upper",
        "p_upper = Beta⁻¹(1 − (1 − c)/2; j + 1, n − j)  (1 when j = n)",
        "Upper end of the two-sided exact binomial confidence interval at level c for j "
        "events in n trials.",
    ),
    GlossaryEntry(
        "Kernel projector",
        "P_N",
        "MRI: P_N = I − A†A;  CT: P_N = I − (A*A + αI)⁻¹A*A",
        "Keeps the part of an image that the measurements do not see (the null space of A); "
        "the CT form is a Tikhonov-regularised version with parameter α.",
    ),
    GlossaryEntry(
        "Kernel component (hallucination)",
        "h",
        "h = ‖P_N (f(Ax) − x)‖ / ‖x‖",
        "What a reconstruction adds that was never measured, relative to the image.",
    ),
    GlossaryEntry(
        "Visibility of a kernel detail",
        "‖Ad‖/‖d‖",
        "d = P_N d̃ for a symbol d̃;  visibility = ‖Ad‖ / ‖d‖",
        "Near 0: the detail is invisible to the measurements, so no method can recover it.",
    ),
    GlossaryEntry(
        "Search power (test of the test)",
        "power",
        "power = worst change found on F / its ceiling: σ_max(F A)·ε‖x‖ (image domain), σ_max(F)·η‖Ax‖ (measurement domain); F(y) = A*y + g·Re⟨u, y⟩·v",
        "A search run with the audit's own settings on a linear map whose worst case σ_max is known (g a planted "
        "gain, u and v unit vectors in the measurement and image spaces); "
        "below 0.95 the adversarial check is INCONCLUSIVE.",
    ),
    GlossaryEntry(
        "Share at half budget (search convergence)",
        "s",
        "s = w[⌊(n − 1)/2⌋] / w[n − 1],  w[t] = worst case found after t + 1 evaluations (n of them; the image-domain record is the refinement after the ascent path)",
        "Near 1: the search had levelled off within its budget; below 0.95 it was still climbing and a "
        "note says so.",
    ),
    GlossaryEntry(
        "Local change (worst patch)",
        "Δ_loc",
        "Δ_loc = max over patches P of RMS_P(f(A(x + r)) − f(Ax))",
        "In image intensity units; catches a change gathered in a lesion-sized area that the global Δ dilutes.",
    ),
    GlossaryEntry(
        "Local error (worst patch)",
        "E_loc",
        "E_loc = max over patches P of RMS_P(|f(Ax + e)| − x)",
        "The trade-off check's error on the worst patch, in image intensity units.",
    ),
    GlossaryEntry(
        "Empirical local Lipschitz constant",
        "L",
        "L = (E(η₁) − E(0)) / η₁  (and the least-squares slope over the first levels)",
        "Slope of the mean worst-case error against the noise level near η = 0: a lower estimate of how strongly "
        "the method amplifies noise.",
    ),
    GlossaryEntry(
        "Ghost contrast",
        "G",
        "G = max over pixels outside R of |Δ_d| / max |d|",
        "The brightest echo of a detail outside its own region, as a fraction of the detail's contrast.",
    ),
    GlossaryEntry(
        "Invented energy on a patch",
        "I_P",
        "I_P = min over 0 ≤ β ≤ 1 of ‖P_N f(Ax) − β P_N x‖²_P  (in units of ‖x‖²)",
        "Unmeasured content on patch P that no partial copy of the truth's unmeasured part explains.",
    ),
    GlossaryEntry(
        "Shown fraction of a kernel detail",
        "γ",
        "P_N f(A(x + d)) ≈ β P_N x + γ d on the detail's region R (least squares)",
        "γ ≈ 0: the method does not invent the detail it cannot measure; γ near 1: it brings it from its training.",
    ),
    GlossaryEntry(
        "Sensitivity of a verdict",
        "margin",
        "margin = (t − v) / |t| for a rule v ≤ t,  (v − t) / |t| for v ≥ t",
        "How far the measured value v lies inside (positive) or outside (negative) its threshold t, as a share "
        "of t; the line also says whether the verdict would change with t moved by half of itself towards "
        "strict or lenient (a moved threshold may lie beyond what the quantity can reach).",
    ),
    GlossaryEntry(
        "Harm threshold (random noise)",
        "τ",
        "τ = k · max(m_base, η),  m_base = the baseline's median change over the same draws",
        "A draw is harmful when the network's change exceeds τ (or the manifest's fixed threshold when set).",
    ),
)


#: the two papers the checks rest on, as the dossier's text names them.
REFERENCES: tuple[tuple[str, str], ...] = (
    (
        "instability paper",
        "On instabilities of deep learning in image reconstruction and the potential costs of AI. "
        "Proceedings of the National Academy of Sciences 117(48), 30088–30095 (2020), doi:10.1073/pnas.1907377117.",
    ),
    (
        "kernel paper",
        "The troublesome kernel: on hallucinations, no free lunches and the accuracy–stability trade-off in inverse "
        "problems. SIAM Review (2025); preprint arXiv:2001.01258.",
    ),
)
