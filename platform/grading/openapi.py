"""The OpenAPI 3.1 description of the JSON API, served at /api/v1/openapi.json."""

from graders import TEST_FIELDS
from graders.results import FORMATS

# Each field of a check (graders.TEST_FIELDS names them and their order).
CHECK_PROPERTIES = {
    "name": {"type": "string"},
    "score": {"type": "number"},
    "max_score": {"type": "number"},
    "status": {"enum": ["passed", "failed"]},
    "output": {"type": "string"},
    "visibility": {"type": "string"},
    "tags": {"type": "array", "items": {"type": "string"}},
    "output_format": {"enum": list(FORMATS), "description": "How output is written"},
    "name_format": {"enum": list(FORMATS), "description": "How name is written"},
}


def _json(ref: str) -> dict:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}


ERRORS = {
    "401": {"description": "Missing or invalid token", "content": _json("Error")},
    "404": {"description": "No such lab or submission (or not yours)", "content": _json("Error")},
}
SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}


def schema(server_url: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Downstack API",
            "version": "1",
            "description": "Labs, starter files, submissions and their results. Every call "
            "needs `Authorization: Bearer <token>`; tokens are made on the account page.",
        },
        "servers": [{"url": server_url}],
        "security": [{"token": []}],
        "paths": {
            "/labs/": {
                "get": {
                    "operationId": "listLabs",
                    "summary": "Every lab, with your progress",
                    "responses": {
                        "200": {"description": "The labs", "content": _json("LabList")},
                        **ERRORS,
                    },
                }
            },
            "/labs/{slug}/": {
                "get": {
                    "operationId": "getLab",
                    "summary": "One lab: instructions, your seed, limits",
                    "parameters": [SLUG],
                    "responses": {
                        "200": {"description": "The lab", "content": _json("Lab")},
                        **ERRORS,
                    },
                }
            },
            "/labs/{slug}/starter.zip": {
                "get": {
                    "operationId": "getStarter",
                    "summary": "The starter files as a zip",
                    "parameters": [SLUG],
                    "responses": {
                        "200": {
                            "description": "A zip with one folder named after the lab",
                            "content": {
                                "application/zip": {
                                    "schema": {"type": "string", "format": "binary"}
                                }
                            },
                        },
                        **ERRORS,
                    },
                }
            },
            "/labs/{slug}/submissions/": {
                "post": {
                    "operationId": "submit",
                    "summary": "Submit the lab's files: a form field per file, or one zip",
                    "parameters": [SLUG],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "archive": {"type": "string", "format": "binary"}
                                    },
                                    "additionalProperties": {"type": "string", "format": "binary"},
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": {"description": "Queued", "content": _json("Submission")},
                        "400": {
                            "description": "Rejected; nothing was queued",
                            "content": _json("Error"),
                        },
                        "413": {"description": "Too large to read", "content": _json("Error")},
                        **ERRORS,
                    },
                }
            },
            "/submissions/{id}/": {
                "get": {
                    "operationId": "getSubmission",
                    "summary": "Status, and once graded the score and feedback",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "format": "uuid"},
                        }
                    ],
                    "responses": {
                        "200": {"description": "The submission", "content": _json("Submission")},
                        **ERRORS,
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "string"}},
                },
                "LabList": {
                    "type": "object",
                    "properties": {
                        "labs": {"type": "array", "items": {"$ref": "#/components/schemas/Lab"}}
                    },
                },
                "Lab": {
                    "type": "object",
                    "required": ["slug", "title", "submit_files"],
                    "properties": {
                        "slug": {"type": "string"},
                        "title": {"type": "string"},
                        "summary": {"type": "string"},
                        "skills": {"type": "array", "items": {"type": "string"}},
                        "difficulty": {"enum": ["intro", "intermediate", "advanced"]},
                        "minutes": {"type": "integer"},
                        "submit_files": {"type": "array", "items": {"type": "string"}},
                        "attempts_per_hour": {"type": ["integer", "null"]},
                        "url": {"type": "string"},
                        "progress": {
                            "type": "object",
                            "properties": {
                                "attempts": {"type": "integer"},
                                "best_score": {"type": ["number", "null"]},
                                "passed": {"type": "boolean"},
                            },
                        },
                        "instructions": {"type": "string", "description": "Markdown"},
                        "seed": {"type": ["integer", "null"]},
                        "limits": {"type": "object"},
                        "upload_kb": {"type": "integer"},
                        "starter_url": {"type": "string"},
                    },
                },
                "Submission": {
                    "type": "object",
                    "required": ["id", "status"],
                    "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "lab": {"type": "string"},
                        "status": {"enum": ["queued", "running", "graded", "error"]},
                        "status_detail": {"type": "string"},
                        "passed": {"type": "boolean"},
                        "score": {"type": ["number", "null"]},
                        "max_score": {"type": ["number", "null"]},
                        "feedback": {"type": "string", "description": "See feedback_format"},
                        "feedback_format": {
                            "enum": list(FORMATS),
                            "description": "How feedback is written: md (markdown) for "
                            "Downstack's checkers; a Gradescope autograder's own choice",
                        },
                        "queued_at": {"type": "string", "format": "date-time"},
                        "started_at": {"type": ["string", "null"], "format": "date-time"},
                        "finished_at": {"type": ["string", "null"], "format": "date-time"},
                        "running_check": {
                            "type": ["string", "null"],
                            "description": "While running: the check the grader is working on",
                        },
                        "queue_position": {"type": ["integer", "null"]},
                        "estimated_wait_s": {"type": ["number", "null"]},
                        "tests": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Check"},
                            "description": "The checks shown in full; while running, those "
                            "finished so far",
                        },
                        "hidden_tests": {
                            "type": "object",
                            "properties": {
                                "passed": {"type": "integer"},
                                "failed": {"type": "integer"},
                            },
                        },
                        "run": {"type": "object"},
                        "files": {"type": "array", "items": {"type": "string"}},
                        "url": {"type": "string"},
                    },
                },
                "Check": {
                    "type": "object",
                    "properties": {name: CHECK_PROPERTIES[name] for name in TEST_FIELDS},
                },
            },
        },
    }
