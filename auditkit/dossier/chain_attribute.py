"""The audit log's chain head as a signed attribute of the CMS signature over SHA256SUMS.

Sealing adds it when signing (``auditkit.dossier.signing``) and verification reads it back
(``auditkit.dossier.validation``), so that where the log ends is bound by the signature,
not only by the log itself (``auditkit.dossier.auditlog.ChainHead``).
"""

from __future__ import annotations

from pathlib import Path

from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core

from auditkit.dossier.auditlog import ChainHead

#: OID of the signed CMS attribute holding the audit log's chain head: a UUID-based OID
#: (ITU-T X.667, arc 2.25), which needs no registration.
CHAIN_HEAD_OID = "2.25.274285772362385386833520358984183776876"


class _ChainHeadValue(asn1_core.Sequence):
    """ASN.1 form of the chain-head attribute: SEQUENCE { entries INTEGER, lastLineSha256 OCTET STRING }."""

    _fields = [("entries", asn1_core.Integer), ("last_line_sha256", asn1_core.OctetString)]


def chain_head_attribute(head: ChainHead) -> asn1_cms.CMSAttribute:
    """The signed attribute recording ``head`` (:data:`CHAIN_HEAD_OID`)."""
    value = _ChainHeadValue({"entries": head.entries, "last_line_sha256": bytes.fromhex(head.last_line_sha256)})
    return asn1_cms.CMSAttribute({"type": CHAIN_HEAD_OID, "values": [value]})


def signed_chain_head(signature: bytes | Path | str) -> ChainHead | None:
    """The chain head recorded in a detached CMS signature's signed attributes, or None when it records none.

    Only meaningful once the signature was found valid (the attributes are what it signs).
    """
    der = signature if isinstance(signature, bytes) else Path(signature).read_bytes()
    try:
        signer_info = asn1_cms.ContentInfo.load(der)["content"]["signer_infos"][0]
        for attribute in signer_info["signed_attrs"]:
            if attribute["type"].dotted == CHAIN_HEAD_OID:
                value = attribute["values"][0].parse(_ChainHeadValue)
                return ChainHead(int(value["entries"].native), bytes(value["last_line_sha256"].native).hex())
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return None
