"""The audit record: what a dossier consists of, how it is logged, sealed, signed, verified and published.

Deliberately imports nothing, so that ``auditkit.dossier.layout`` (the names of a
dossier's files) stays importable from any layer without pulling in the rest.
"""
