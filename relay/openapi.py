"""The relay's OpenAPI 3.1 description, served at /api/openapi.json."""

from __future__ import annotations

from typing import Any

_B64U = {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "description": "base64url, no padding"}
_ERROR = {
    "description": "Refused; nothing was stored.",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "string"}},
            }
        }
    },
}
_SIGNED = [
    {"in": "header", "name": h, "required": True, "schema": {"type": "string"}}
    for h in ("X-QD-Key", "X-QD-Timestamp", "X-QD-Nonce", "X-QD-Signature")
]

ENVELOPE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["v", "school", "case_id", "auth_hash", "nonce", "ct", "keys"],
    "properties": {
        "v": {"const": 1},
        "school": {"type": "string"},
        "case_id": _B64U,
        "auth_hash": _B64U,
        "nonce": _B64U,
        "ct": _B64U,
        "keys": {
            "type": "array",
            "minItems": 1,
            "maxItems": 32,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["to", "sealed"],
                "properties": {"to": _B64U, "sealed": _B64U},
            },
        },
    },
}


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Quiet Door relay",
            "version": "1",
            "description": "Stores and serves ciphertext envelopes only. See docs/PROTOCOL.md.",
        },
        "paths": {
            "/api/v1/envelopes": {
                "post": {
                    "summary": "Store an encrypted envelope from a student's page",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": ENVELOPE}},
                    },
                    "responses": {
                        "201": {
                            "description": "Stored durably.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["id", "received"],
                                        "properties": {
                                            "id": {"type": "string"},
                                            "received": {"type": "string", "format": "date"},
                                        },
                                    }
                                }
                            },
                        },
                        "400": _ERROR,
                        "404": _ERROR,
                        "413": _ERROR,
                        "422": _ERROR,
                        "429": _ERROR,
                    },
                }
            },
            "/api/v1/schools": {
                "get": {
                    "summary": "The schools whose envelopes the signing key may read",
                    "parameters": _SIGNED,
                    "responses": {
                        "200": {
                            "description": "School slugs, in config order.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["schools"],
                                        "properties": {
                                            "schools": {
                                                "type": "array",
                                                "items": {"type": "string"},
                                            }
                                        },
                                    }
                                }
                            },
                        },
                        "401": _ERROR,
                        "403": _ERROR,
                    },
                }
            },
            "/api/v1/schools/{slug}/envelopes": {
                "get": {
                    "summary": "List a school's envelopes (signed staff request)",
                    "parameters": [
                        {
                            "in": "path",
                            "name": "slug",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {
                            "in": "query",
                            "name": "after",
                            "schema": {"type": "integer", "minimum": 0},
                        },
                        {
                            "in": "query",
                            "name": "limit",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 200},
                        },
                        *_SIGNED,
                    ],
                    "responses": {
                        "200": {
                            "description": "Envelopes with seq greater than `after`, oldest first.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["envelopes", "more"],
                                        "properties": {
                                            "more": {"type": "boolean"},
                                            "envelopes": {
                                                "type": "array",
                                                "items": {
                                                    "type": "object",
                                                    "properties": {
                                                        "seq": {"type": "integer"},
                                                        "id": {"type": "string"},
                                                        "received": {"type": "string"},
                                                        "envelope": ENVELOPE,
                                                    },
                                                },
                                            },
                                        },
                                    }
                                }
                            },
                        },
                        "400": _ERROR,
                        "401": _ERROR,
                        "403": _ERROR,
                        "404": _ERROR,
                    },
                }
            },
        },
    }
