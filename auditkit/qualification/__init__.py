"""Tool qualification: the audit's checks run on reference networks whose right answers are known by construction.

``auditkit selftest MANIFEST`` runs the manifest's checks, in its own setting (operator,
images, budgets, seed), on the reference maps of ``references`` in place of the network, compares
each outcome with what the construction of the map implies, and writes a signed qualification
record (``record``) that an audit of the same setting can attach to its dossier.
"""
