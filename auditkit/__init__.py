"""auditkit: audits image-reconstruction networks for instability and hallucination."""

__version__ = "0.1.0"
