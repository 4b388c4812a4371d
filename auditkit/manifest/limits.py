"""Upper bounds on every size a manifest sets, defined once and used by the models (so the JSON Schema states them).

A manifest holds settings and file names, never data, so its file, its texts and its lists
are small; the counts that drive the audit's memory and time (image size, coils, angles,
images, draws, iterations, restarts, batch sizes) are bounded generously: each limit is well
beyond any setting the instability studies or the samples use, yet low enough that a typo
(``100000`` for ``1000``) is caught as bad input instead of exhausting the machine. Within
these limits, ``auditkit.manifest.memory`` estimates the audit's peak memory and compares it
with what the machine has available.
"""

from __future__ import annotations

# --- the file ---------------------------------------------------------------------------------

#: Largest manifest file read, in bytes (1 MiB; the sample manifests are 2–3 KiB).
MAX_MANIFEST_BYTES = 1 << 20
#: Most values (mappings, lists and scalars) a manifest may expand to; YAML aliases can repeat a
#: value many times over without making the file any longer. The samples have about 100.
MAX_DOCUMENT_VALUES = 100_000

# --- texts (characters) -----------------------------------------------------------------------

#: Identifiers and version strings (submission.id, submission.version).
MAX_ID_CHARS = 128
#: Names and one-line texts (vendor, device, contact, signer name, signature meaning).
MAX_NAME_CHARS = 256
#: The intended-use statement: one paragraph, a page at most.
MAX_PARAGRAPH_CHARS = 4000
#: A detail rendered into a test image (structural check); a longer text cannot fit an image.
MAX_DETAIL_CHARS = 64
#: File paths and sha256 keys (Linux PATH_MAX).
MAX_PATH_CHARS = 4096
#: Python and environment identifiers (entry point, keyword-argument names, password_env, wavelet name).
MAX_IDENTIFIER_CHARS = 256
#: URLs (signing.timestamp_url).
MAX_URL_CHARS = 2048

# --- lists ------------------------------------------------------------------------------------

#: Entries of a ladder of settings (budgets, noise levels, ratios, angle counts, survival ratios)
#: and of the structural check's details.
MAX_SETTINGS = 64
#: Files in network.sha256 (a Python network's modules and its weights).
MAX_NETWORK_FILES = 1000
#: Keyword arguments of a Python network's entry point.
MAX_KWARGS = 100

# --- counts that drive memory and time --------------------------------------------------------

#: Side of the image in pixels (clinical MR and CT images are 256–1024 pixels a side).
MAX_IMAGE_SIDE = 4096
#: Receiver coils of multi-coil MRI (clinical arrays have up to 64–128 channels).
MAX_COILS = 128
#: CT projection angles and radial MRI lines (clinical CT takes 1000–2500 views a rotation).
MAX_ANGLES = 8192
#: Test images, per list and in all (a default audit of 9 images of 128² takes an hour on 2 cores).
MAX_IMAGES = 1000
#: Noise draws per image and level (10⁵ harmless draws bound the harm probability by 4·10⁻⁵ at 95 %).
MAX_DRAWS = 100_000
#: Rows reconstructed per call of the network or baseline (noise.batch_size).
MAX_BATCH = 1024
#: Iterations of a search or of the baseline's solver.
MAX_ITERATIONS = 100_000
#: Random restarts of a projected search.
MAX_RESTARTS = 100
#: Wavelet decomposition levels (12 halve a 4096-pixel side to one pixel).
MAX_WAVELET_LEVELS = 16
