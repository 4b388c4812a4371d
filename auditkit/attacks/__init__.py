"""Worst-case perturbation searches, batched over images, budgets and restarts.

- ``ladder_ascent`` (image domain): perturbations r of the image with
  ‖r‖ = ε‖x‖ maximising the change ‖f(A(x+r)) − f(Ax)‖, as the ladder of one
  momentum ascent refined at each rung (``momentum``).
- ``projected_ascent`` (measurement domain): noise e with ‖e‖ ≤ η‖Ax‖
  maximising the error ‖f(Ax + e) − x‖, worst of several restarts (``projected``).

Both call f through a ``Reconstruct`` (``objective``): ``recon(y, rows)`` with the
index of the image each row perturbs; ``plain(fmap)`` adapts a plain map. Both
take one torch generator per image, so an image's result does not depend on the
images it is batched with, and both count cost in network gradient evaluations
(one forward and one backward pass of f for one row).
"""

from auditkit.attacks.momentum import Ladder, ladder_ascent
from auditkit.attacks.objective import Reconstruct, evaluate, outputs, plain
from auditkit.attacks.projected import WorstNoise, nested, projected_ascent

__all__ = ["Ladder", "Reconstruct", "WorstNoise", "evaluate", "ladder_ascent", "nested", "outputs", "plain", "projected_ascent"]
