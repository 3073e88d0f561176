"""What is inside an envelope: one typed definition per kind of message, checked on opening.

The school's public keys are in every landing page, so anyone can seal any
plaintext to a school. Every reader (the key tool, the desk, the roster) goes
through `open_payload`, which parses the JSON within limits and validates it
into one of the types below, or raises ProtocolError naming the field at fault.

Every payload carries the same header, inside the encryption: its kind, its
school, its case, a random message id and the minute it was written. A reader
compares the header with what the relay says about the envelope (`check_origin`),
so a relay cannot move a message to another school or case, present one kind as
another, or replay it unnoticed (the message id repeats). Messages from staff are
also signed with the author's Ed25519 key, so that nobody who merely knows the
school's public keys can write in a colleague's name.

The modules, by kind: `reader` (typed field access with limits), `header`,
`student` (report, update), `staff` (reply, receipt, note, signatures),
`training` (the completion record), `sealing` (any payload to and from an
envelope) and `binding` (a case's messages checked against its code's keys).
Import the names from here.
"""

from quietdoor.payloads.binding import NOT_PROVABLE, check_binding, check_update
from quietdoor.payloads.header import (
    HEADER_FIELDS,
    KINDS_BY_ROUTE,
    MSG_ID_BYTES,
    Author,
    Header,
    Kind,
)
from quietdoor.payloads.reader import DAY_FORMAT, MAX_SHORT, MAX_TEXT, SENT_FORMAT
from quietdoor.payloads.sealing import (
    Payload,
    check_origin,
    encode,
    open_payload,
    parse_payload,
    seal_payload,
    to_json,
)
from quietdoor.payloads.staff import (
    DISPOSITIONS,
    STAFF_FIELDS,
    STAFF_SIGNATURE_LABEL,
    STATUSES,
    Note,
    Receipt,
    Reply,
    Signer,
    StaffPayload,
    sign,
    signed_bytes,
)
from quietdoor.payloads.student import (
    LANG_RE,
    SAFE_NOW,
    STUDENT_SIGNATURE_LABEL,
    Answers,
    Report,
    Update,
    sign_update,
    update_signed_bytes,
)
from quietdoor.payloads.training import (
    MAX_ACKNOWLEDGMENT,
    MAX_MODULES,
    MAX_SKILLS,
    STATE_RE,
    Acknowledgment,
    Answer,
    Attestation,
    CheckResult,
    ModuleRecord,
    Person,
    Training,
)

__all__ = [
    "DAY_FORMAT",
    "DISPOSITIONS",
    "HEADER_FIELDS",
    "KINDS_BY_ROUTE",
    "LANG_RE",
    "MAX_ACKNOWLEDGMENT",
    "MAX_MODULES",
    "MAX_SHORT",
    "MAX_SKILLS",
    "MAX_TEXT",
    "MSG_ID_BYTES",
    "NOT_PROVABLE",
    "SAFE_NOW",
    "SENT_FORMAT",
    "STAFF_FIELDS",
    "STAFF_SIGNATURE_LABEL",
    "STATE_RE",
    "STATUSES",
    "STUDENT_SIGNATURE_LABEL",
    "Acknowledgment",
    "Answers",
    "Attestation",
    "Author",
    "Answer",
    "CheckResult",
    "Header",
    "Kind",
    "ModuleRecord",
    "Note",
    "Payload",
    "Person",
    "Receipt",
    "Reply",
    "Report",
    "Signer",
    "StaffPayload",
    "Training",
    "Update",
    "check_binding",
    "check_origin",
    "check_update",
    "encode",
    "open_payload",
    "parse_payload",
    "seal_payload",
    "sign",
    "sign_update",
    "signed_bytes",
    "to_json",
    "update_signed_bytes",
]
