"""Loading a submitted network safely and wrapping it into the one reconstruction convention.

``load_module`` checks every file's SHA-256 before anything is deserialised and
returns a frozen module in eval mode; ``NetworkAdapter`` turns it into a
``ReconstructionMap`` (canonical measurements in, image (B, H, W) out) following
the manifest's input/complex_as/output layout rule; ``load_network`` does both
and probes the result.
"""

from auditkit.networks.adapter import NetworkAdapter, probe_image
from auditkit.networks.hashing import files_to_hash, verify_hashes
from auditkit.networks.loader import load_module, load_network, resolve_device

__all__ = [
    "NetworkAdapter",
    "files_to_hash",
    "load_module",
    "load_network",
    "probe_image",
    "resolve_device",
    "verify_hashes",
]
