"""The relay's OpenAPI 3.1 description, served at /api/openapi.json.

It describes every endpoint, parameter and error answer; docs/PROTOCOL.md says
what the fields mean and how to build them.
"""

from __future__ import annotations

from typing import Any

B64U = {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "description": "base64url, no padding"}
# The last character of an encoding whose bits do not fill it: its spare bits are zero.
_SPARE2 = "[AEIMQUYcgkosw048]"
_SPARE4 = "[AQgw]"


def _bytes(size: int) -> dict[str, Any]:
    """base64url (no padding, canonical) of exactly size bytes, as a pattern."""
    full, rest = divmod(size, 3)
    pattern = "[A-Za-z0-9_-]{" + str(full * 4) + "}"
    if rest == 1:
        pattern += "[A-Za-z0-9_-]" + _SPARE4
    elif rest == 2:
        pattern += "[A-Za-z0-9_-]{2}" + _SPARE2
    return {"type": "string", "pattern": f"^{pattern}$", "description": f"{size} bytes, base64url"}


# The ciphertext: a padded payload of 1, 2, 4 ... 64 KiB, plus the 16-byte tag. (Exact
# patterns for those lengths would be true, but too large for a fuzzer to generate.)
CT = {
    **B64U,
    "description": "base64url of 1 KiB + 16 bytes, 2 KiB + 16, 4 KiB + 16 ... or 64 KiB + 16",
}
SLUG = {"type": "string", "pattern": "^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"}
DAY = {"type": "string", "format": "date", "description": "UTC day, YYYY-MM-DD"}
AUTHOR = {"type": "string", "enum": ["public", "student", "staff"]}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(properties) if required is None else required,
        "properties": properties,
    }


ERROR = _json(_object({"error": {"type": "string"}}), "Refused; nothing was stored.")
FULL = _json(
    _object({"error": {"type": "string"}, "full": {"const": True}}),
    "The school's storage budget is reached; nothing was stored. Show the hotline.",
)
ENVELOPE = _object(
    {
        "v": {"enum": [1, 2], "description": "1 only within [relay] v1_accept_days"},
        "school": SLUG,
        "nonce": _bytes(24),
        "ct": CT,
        "keys": {
            "type": "array",
            "minItems": 1,
            "maxItems": 33,
            "items": _object({"to": _bytes(8), "sealed": _bytes(80)}),
        },
    }
)
CASE_ID = _bytes(16)
NEW_CASE = _object({"case_id": CASE_ID, "auth_hash": _bytes(32), "envelope": ENVELOPE})
STORED = _json(
    _object({"id": {"type": "string"}, "received": DAY}),
    "Stored durably (201), or this very envelope was stored before (200, the first answer).",
)
SIGNED = [
    {"in": "header", "name": h, "required": True, "schema": {"type": "string"}}
    for h in ("X-QD-Key", "X-QD-Timestamp", "X-QD-Nonce", "X-QD-Signature")
]
# The case code's holder: X-QD-Case and, as the "caseCode" bearer scheme, the auth token.
# Every way of being wrong (either missing, malformed or not matching) gets the same 404.
CASE_AUTH = [
    {
        "in": "header",
        "name": "X-QD-Case",
        "required": True,
        "schema": CASE_ID,
        "description": "the case id derived from the case code (a wrong or missing one: 404)",
    },
    {
        "in": "header",
        "name": "X-QD-Case-V1",
        "required": False,
        "schema": CASE_ID,
        "description": "the version-1 case id of the same code, looked up if X-QD-Case is not",
    },
]
CASE_SECURITY: list[dict[str, list[str]]] = [{"caseCode": []}]
SLUG_PARAM = {"in": "path", "name": "slug", "required": True, "schema": SLUG}
PROOF = {
    "in": "header",
    "name": "X-QD-Proof",
    "required": False,
    "schema": {"type": "string", "maxLength": 4096},
    "description": (
        "ALTCHA's payload (base64 of JSON) of a solved challenge from /api/v1/challenge. "
        "Needed for a new case, and for a student's message while the school is busy, "
        "unless the deployment turned proof of work off ([relay] proof_of_work)."
    ),
}
CHALLENGE = _object(
    {
        "parameters": {
            "type": "object",
            "required": ["algorithm", "nonce", "salt", "cost", "keyLength", "keyPrefix"],
            "properties": {
                "algorithm": {"const": "PBKDF2/SHA-256"},
                "nonce": {"type": "string", "pattern": "^[0-9a-f]+$"},
                "salt": {"type": "string", "pattern": "^[0-9a-f]+$"},
                "cost": {"type": "integer", "minimum": 1},
                "keyLength": {"type": "integer", "minimum": 1},
                "keyPrefix": {"type": "string", "pattern": "^[0-9a-f]+$"},
                "keySignature": {"type": "string", "pattern": "^[0-9a-f]+$"},
                "expiresAt": {"type": "integer"},
                "data": _object(
                    {
                        "school": SLUG,
                        "tries": {"type": "integer", "minimum": 1},
                        "busy": {"type": "boolean"},
                    }
                ),
            },
        },
        "signature": {"type": "string", "pattern": "^[0-9a-f]+$"},
    }
)
HEALTH = _object(
    {
        "status": {"type": "string", "enum": ["ok", "warning", "failing"]},
        "checks": {"type": "object", "additionalProperties": {"type": "string"}},
    }
)
CASE_ROW = _object(
    {"id": {"type": "string"}, "received": DAY, "author": AUTHOR, "envelope": ENVELOPE}
)
SCHOOL_ROW = _object(
    {
        "cursor": {"type": "integer", "minimum": 1},
        "id": {"type": "string"},
        "received": DAY,
        "case_id": {"oneOf": [B64U, {"type": "null"}]},
        "author": AUTHOR,
        "envelope": ENVELOPE,
    }
)


ACK = {"type": "integer", "minimum": 0, "maximum": 2**53}
ACKS = _object({"held": ACK, "seen": ACK}, required=[])
ACKS["minProperties"] = 1
TOO_MANY = {
    **ERROR,
    "headers": {
        "Retry-After": {
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
            "description": "seconds to wait before trying again",
        }
    },
}


def _errors(*codes: int) -> dict[str, Any]:
    shapes = {429: TOO_MANY, 507: FULL}
    return {str(code): shapes.get(code, ERROR) for code in codes}


def _post(
    summary: str,
    schema: dict[str, Any],
    params: list[Any],
    *codes: int,
    security: list[Any] | None = None,
) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "parameters": params,
            **({"security": security} if security is not None else {}),
            "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
            "responses": {"200": STORED, "201": STORED, **_errors(*codes)},
        }
    }


def openapi_document(example_school: str = "lincoln-high") -> dict[str, Any]:
    """The description; example_school (one of the deployment's) shows a working request."""
    school = {"in": "query", "name": "school", "required": True, "schema": SLUG}
    school["example"] = example_school
    return {
        "openapi": "3.1.0",
        "components": {
            "securitySchemes": {
                "caseCode": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the auth token derived from the case code (docs/PROTOCOL.md)",
                }
            }
        },
        "info": {
            "title": "Quiet Door relay",
            "version": "2",
            "description": "Stores and serves ciphertext only. See docs/PROTOCOL.md.",
        },
        "paths": {
            "/api/v1/challenge": {
                "get": {
                    "summary": "A proof-of-work challenge for a school (ALTCHA's format, v2)",
                    "parameters": [school],
                    "responses": {
                        "200": _json(CHALLENGE, "Solve it and send the solution as X-QD-Proof."),
                        **_errors(404, 429),
                    },
                }
            },
            "/api/v1/cases": _post(
                "Open a case: a student's first report, or a staff training record",
                NEW_CASE,
                [PROOF],
                400,
                404,
                409,
                413,
                415,
                422,
                428,
                429,
                507,
            ),
            "/api/v1/case": {
                "get": {
                    "summary": "Read one's own case (the case code's token)",
                    "parameters": CASE_AUTH,
                    "security": CASE_SECURITY,
                    "responses": {
                        "200": _json(
                            _object(
                                {
                                    "school": SLUG,
                                    "case_id": CASE_ID,
                                    "messages": {"type": "array", "items": CASE_ROW},
                                }
                            ),
                            "The case's messages, oldest first.",
                        ),
                        **_errors(404, 429),
                    },
                }
            },
            "/api/v1/case/messages": _post(
                "Add a student's message to their case",
                ENVELOPE,
                [*CASE_AUTH, PROOF],
                400,
                404,
                409,
                413,
                415,
                422,
                428,
                429,
                507,
                security=CASE_SECURITY,
            ),
            "/api/v1/schools": {
                "get": {
                    "summary": "The schools whose messages the signing key may read",
                    "parameters": SIGNED,
                    "responses": {
                        "200": _json(
                            _object({"schools": {"type": "array", "items": SLUG}}),
                            "School slugs, in config order.",
                        ),
                        **_errors(401, 403),
                    },
                }
            },
            "/api/v1/schools/{slug}/messages": {
                "get": {
                    "summary": "Everything of a school after a cursor (signed staff request)",
                    "parameters": [
                        SLUG_PARAM,
                        {
                            "in": "query",
                            "name": "after",
                            "schema": {"type": "integer", "minimum": 0, "maximum": 2**62},
                        },
                        {
                            "in": "query",
                            "name": "limit",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 200},
                        },
                        *SIGNED,
                    ],
                    "responses": {
                        "200": _json(
                            _object(
                                {
                                    "messages": {"type": "array", "items": SCHOOL_ROW},
                                    "more": {"type": "boolean"},
                                }
                            ),
                            "Messages with a cursor greater than `after`, oldest first.",
                        ),
                        **_errors(400, 401, 403, 404),
                    },
                }
            },
            "/api/v1/schools/{slug}/cases/{case_id}/messages": _post(
                "Add a staff reply or read receipt to a case (signed staff request)",
                ENVELOPE,
                [
                    SLUG_PARAM,
                    {"in": "path", "name": "case_id", "required": True, "schema": B64U},
                    *SIGNED,
                ],
                400,
                401,
                403,
                404,
                409,
                413,
                415,
                422,
            ),
            "/api/v1/schools/{slug}/notes": _post(
                "Add a staff-only note about a case (signed staff request)",
                ENVELOPE,
                [SLUG_PARAM, *SIGNED],
                400,
                401,
                403,
                404,
                409,
                413,
                415,
                422,
            ),
            "/api/v1/schools/{slug}/acks": {
                "post": {
                    "summary": "Say what this recipient holds and what a person has seen (signed)",
                    "parameters": [SLUG_PARAM, *SIGNED],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": ACKS}},
                    },
                    "responses": {
                        "200": _json(
                            _object({"held": ACK, "seen": ACK}),
                            "What the relay recorded: each capped at the highest cursor it "
                            "served this recipient, and never lower than before.",
                        ),
                        **_errors(400, 401, 403, 404, 413, 415),
                    },
                }
            },
            "/api/v1/schools/{slug}/escalations": {
                "get": {
                    "summary": "Escalations of the school that climbed past its first tier, "
                    "by month (signed)",
                    "parameters": [SLUG_PARAM, *SIGNED],
                    "responses": {
                        "200": _json(
                            _object(
                                {
                                    "climbed": {
                                        "type": "object",
                                        "description": "YYYY-MM: a count (13 months kept)",
                                        "additionalProperties": {"type": "integer", "minimum": 1},
                                    }
                                },
                                ["climbed"],
                            ),
                            "Counts only: no time finer than the month, no case.",
                        ),
                        **_errors(401, 403, 404),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Is this relay fit to take reports (load balancers, operators)",
                    "responses": {
                        "200": _json(HEALTH, "Working; warnings, if any, need a person."),
                        "503": _json(HEALTH, "Not fit: the store or its schema is wrong."),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Aggregate counters in Prometheus text format (no school, no case)",
                    "responses": {
                        "200": {
                            "description": "Prometheus text exposition format 0.0.4.",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
        },
    }
