"""The contract's properties: stable ids and the one-line statement each check proves."""

from __future__ import annotations

PROPERTIES: dict[str, str] = {
    "health.ok": "GET /health answers 200 {\"message\": \"OK\"}",
    "create.fresh-id": "POST /api/v1/session answers 201 with a fresh uuid4 sessionId and a message",
    "create.read-your-writes": "a created session is visible at once to GET (200, data {}) and HEAD (204)",
    "create-with-id.same-id": "POST /api/v1/session/{id} on a fresh id answers 201 with that id, canonical",
    "create-with-id.conflict-409": "create-with-id on an existing id answers 409 and leaves the session untouched",
    "create-with-id.after-delete": "an id freed by DELETE can be created again, as a new empty session",
    "get.shape": "GET answers {sessionId, data: object, createdAt, updatedAt} for the requested id",
    "head.agrees-with-get": "HEAD (204/404, no body) agrees with GET (200/404) for live, deleted and unknown ids",
    "ids.equivalent-spellings": "uppercase, unhyphenated, braced and urn:uuid: spellings name the same session",
    "ids.adversarial": "ids sharing a long prefix or suffix with a live one, or one hex digit off, are 404; create-with-id "
    "in every accepted spelling (upper, mixed case, unhyphenated, braced, urn:uuid:) answers the canonical id and every spelling finds it",
    "delete.then-404-everywhere": "after DELETE (settled), GET, HEAD and a second DELETE answer 404",
    "delete.then-patch-404": "PATCH on a deleted session answers 404",
    "delete.removes-only-target": "DELETE removes exactly that session; every other one stays with its data",
    "patch.merges-top-level": "PATCH merges at the top level: body keys overwrite, other keys stay",
    "patch.timestamps": "PATCH moves updatedAt strictly forward (once the clock can advance), never changes createdAt; "
                        "createdAt <= updatedAt",
    "patch.edge-cases": "nested objects (3 levels deep) are replaced, never merged into; {\"data\": {}} answers 200 and "
    "moves updatedAt; a PATCH writing a key's current value still moves updatedAt",
    "data.round-trips-exactly": "any JSON object stored comes back from GET with exact JSON equality (1 is not 1.0; key order "
    "free): Unicode from every plane in keys and values, integers to +-2^64, finite floats to 17 digits, null, empty and "
    "wide containers, nesting up to 32 levels, envelope-like keys, and a 256 KiB object",
    "timestamps.unchanged-by-reads-and-errors": "GET, HEAD, a 409 and a 422 change neither createdAt nor updatedAt",
    "data.isolated-per-session": "changing one session's data never changes another's",
    "timestamps.iso8601-utc": "createdAt and updatedAt are ISO 8601 date-times with a UTC offset",
    "list.always-404": "GET /api/v1/session answers 404 with a JSON detail, whatever the state",
    "errors.json-detail": "404 and 409 answers carry {\"detail\": str} naming the id (\"Session <id> not found\"); "
                          "422 carries the list form",
    "input.malformed-is-4xx": "malformed ids and bodies get a 4xx with a JSON body, never a 5xx; to PATCH: media types in "
    "other letter case are accepted; no Content-Type, 600-level and 2,000-level nesting, 5,000-digit integers, a BOM and "
    "duplicate keys get a 4xx or are stored exactly; NaN, Infinity and invalid UTF-8 get a 4xx and are never stored",
    "persistence.until-delete": "canary sessions made at the start are unchanged after the persistence window",
    "persistence.under-volume": "after --volume (default 2,000) sessions are created, patched and deleted concurrently "
    "(--concurrency at once), the earliest still exist with their data, and so does every other survivor when read back "
    "(GET for patched ones, then the DELETE that removes each must answer 200)",
    "concurrency.creates-distinct-none-lost": "parallel creates give distinct ids and every one exists",
    "concurrency.deletes-leave-others-intact": "parallel deletes of distinct sessions leave the others intact",
    "concurrency.create-with-id-single-winner": "create-with-id on one fresh id, a second one right after the first "
    "answer's status line or 4 at once: exactly one 201, others 409 (each shape measured: k of n)",
    "concurrency.double-delete": "a second DELETE of one id, right after the first answer's status line or at once with it, "
                                 "answers 404: exactly one 200 (each shape measured: k of n)",
    "concurrency.patches-disjoint-keys-survive": "--concurrency parallel PATCHes of one session with disjoint keys all survive",
    "concurrency.create-with-id-and-delete-explained": "parallel create-with-id and DELETE of one id (answers and the state "
    "left) are explained by some order of those requests within their start and end times",
    "linearizability.concurrent-history": "8 clients sending random operations on a pool of 3 ids at once: the history "
    "(start and end of each request) is linearizable against the sequential model of sessions (Wing & Gong search, "
    "Lowe's memoisation, per id)",
    "model.state-machine": "random sequences of every operation agree with a model of whole records (data, createdAt, "
    "updatedAt): a 409, GET, HEAD, 404 or 422 changes no record; only PATCH moves updatedAt; create-with-id after DELETE "
    "is a new record",
    "schema.stateless": "every response matches openapi.yaml for positive and negative inputs (Schemathesis)",
    "schema.stateful": "chains through the spec's links conform (Schemathesis stateful phase)",
    "consistency.read-your-writes.create": "every acknowledged create was visible to the very next GET and HEAD",
    "consistency.read-your-writes.create-with-id": "every acknowledged create-with-id was visible to the very next GET and HEAD",
    "consistency.read-your-writes.patch": "every acknowledged PATCH was visible to the very next GET",
    "consistency.read-your-writes.delete": "every acknowledged DELETE was visible (404) to the very next GET and HEAD",
}

