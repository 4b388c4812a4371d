"""Suite-wide settings: one torch thread (tests use small images, where a second thread only adds
synchronisation cost, and a loaded 2-core machine makes multi-threaded spin-waits very slow)."""

import torch

torch.set_num_threads(1)
