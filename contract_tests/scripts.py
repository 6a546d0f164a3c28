"""Reproductions that replay: a failure's requests as a runnable bash script.

- `replay_script`: the requests the failing check sent on one session, from its creation, in order. A
  create is replayed as a create-with-id of the id the run recorded, so the script is deterministic
  (cleanup deleted that session, so the id is free again). Every request prints its status; the last
  one (the failing request) prints its whole answer, beside the status the run saw.
- `scenario_script`: the same for a scenario over several sessions (a state machine's steps): every
  request the check sent on any of them, in the order their answers came.
- `repeat_script`: a rate-based failure (read-your-writes, a race): its pair, N times, counting the
  tries that broke the rule, since one try rarely shows a fault seen in 1 of 100.

Header values never appear: each `--header` becomes an environment variable the script names and
refuses to run without. Every word is shell-quoted (`contract_tests.printable.shell_word`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from contract_tests.printable import plain_bytes, printf_feed, shell_word

SESSION_PATH = "/api/v1/session"
CURL = "\x00curl\x00"  # where a rendered request's command goes (no shell word can hold a NUL)


@dataclass(frozen=True)
class SentRequest:
    """One request a check sent on a session: method, path below the base URL as sent, body, status."""

    method: str
    path: str
    body: bytes = b""
    content_type: str | None = None
    status: int | None = None
    charged: str = ""  # the property whose check sent it
    seq: int = 0  # the order in which the run received the answers (`RequestsBySession` numbers them)


def header_variable(index: int) -> str:
    return f"CONTRACT_HEADER_{index + 1}"


def _preamble(base_url: str, header_names: Sequence[str], what: str) -> list[str]:
    lines = ["#!/usr/bin/env bash", f"# {what}", "# Run: BASE=http://host:port bash this-script (default BASE: the run's target)",
             "set -u", f"BASE=\"${{BASE:-{base_url}}}\"", "HEADERS=()"]
    for index, name in enumerate(header_names):
        variable = header_variable(index)
        lines.append(f": \"${{{variable}:?set {variable} to the value of the {name} header}}\"")
        lines.append(f"HEADERS+=(-H \"{name}: ${variable}\")")
    lines.append("status() { curl -sS -o /dev/null -w '%{http_code}' \"${HEADERS[@]}\" \"$@\"; }")
    return lines


def _curl_args(request: SentRequest, path: str) -> str:
    parts = []
    if request.method == "HEAD":
        parts.append("-I")
    elif request.method != "GET":
        parts += ["-X", request.method]
    parts.append(f"\"$BASE\"{shell_word(path)}")
    if request.body:
        if request.content_type:
            parts += ["-H", shell_word(f"Content-Type: {request.content_type}")]
        if plain_bytes(request.body):
            parts += ["--data-raw", shell_word(request.body)]
        else:
            return printf_feed(request.body) + " | " + CURL + " " + " ".join([*parts, "--data-binary", "@-"])
    return CURL + " " + " ".join(parts)


def replay_script(requests: Sequence[SentRequest], *, sid: str, base_url: str, header_names: Sequence[str], what: str) -> str:
    """The script replaying `requests` (all on session `sid`, the failing one last)."""
    return _replay([(sid, request) for request in requests], base_url, header_names,
                   f"{what}: the {len(requests)} requests of the run on session {sid}, in order")


def scenario_script(steps: Sequence[tuple[str, SentRequest]], *, base_url: str, header_names: Sequence[str], what: str) -> str:
    """The script replaying a scenario over several sessions (a state machine's steps): `steps` are
    (session id, request) in the order the run received their answers, the failing one last."""
    sessions = len({sid for sid, _ in steps})
    return _replay(steps, base_url, header_names,
                   f"{what}: the {len(steps)} requests of the run on the scenario's {sessions} sessions, in order")


def _replay(steps: Sequence[tuple[str, SentRequest]], base_url: str, header_names: Sequence[str], what: str) -> str:
    lines = _preamble(base_url, header_names, what)
    for number, (sid, request) in enumerate(steps, 1):
        path = request.path
        if request.method == "POST" and path.rstrip("/") == SESSION_PATH:  # a create: replayed with the recorded id
            path = f"{SESSION_PATH}/{sid}"
        shown = f"{request.method} {path}"
        seen = f" (the run saw {request.status})" if request.status is not None else ""
        if number == len(steps):
            lines.append(f"echo {shell_word(f'--- the failing request: {shown}{seen}')}")
            lines.append(_curl_args(request, path).replace(CURL, "curl -sS -i \"${HEADERS[@]}\"", 1))
        else:
            lines.append(f"echo \"$({_curl_args(request, path).replace(CURL, 'status', 1)})\" {shell_word(shown + seen)}")
    return "\n".join(lines) + "\n"


READ_PAIRS = {
    "create": ("POST", "200", "204"),
    "create-with-id": ("POST", "200", "204"),
    "patch": ("PATCH", "200", "200"),
    "delete": ("DELETE", "404", "404"),
}


def repeat_script(shape: str, tries: int, *, base_url: str, header_names: Sequence[str], what: str) -> str:
    """The script repeating a measured pair `tries` times and counting the tries that broke the rule.
    `shape`: a write kind (`create`, `create-with-id`, `patch`, `delete`: the write, then GET and HEAD at
    once) or a race (`double-delete`, `create-with-id-race`: the second request right after the first, and
    two at once). Each try uses a new random id (the kernel's, or uuidgen)."""
    lines = _preamble(base_url, header_names, f"{what}: {tries} tries, counting those that broke the rule")
    lines += ["newid() { cat /proc/sys/kernel/random/uuid 2>/dev/null || uuidgen | tr 'A-Z' 'a-z'; }",
              "S=\"$BASE/api/v1/session\"", "broken=0", f"for i in $(seq {tries}); do", "  id=$(newid)"]
    if shape in READ_PAIRS:
        method, want_get, want_head = READ_PAIRS[shape]
        if shape in ("patch", "delete"):
            lines.append("  status -X POST \"$S/$id\" >/dev/null; status -I \"$S/$id\" >/dev/null  # a settled session")
        body = " -H 'Content-Type: application/json' --data-raw '{\"data\": {\"try\": 1}}'" if shape == "patch" else ""
        lines += [f"  w=$(status -X {method} \"$S/$id\"{body})",
                  "  status -I \"$S/$id\" > /tmp/head.$$ & g=$(status \"$S/$id\"); wait; h=$(cat /tmp/head.$$)",
                  f"  if [ \"${{w:0:1}}\" = 2 ] && {{ [ \"$g\" != {want_get} ] || [ \"$h\" != {want_head} ]; }}; then "
                  "broken=$((broken+1)); echo \"try $i: $w then GET $g, HEAD $h\"; fi"]
        if shape != "delete":
            lines.append("  status -X DELETE \"$S/$id\" >/dev/null")
    else:
        create = "  status -X POST \"$S/$id\" >/dev/null; status -I \"$S/$id\" >/dev/null" if shape == "double-delete" else "  :"
        method = "DELETE" if shape == "double-delete" else "POST"
        winner = "200" if shape == "double-delete" else "201"
        loser = "404" if shape == "double-delete" else "409"
        lines += [create,
                  f"  a=$(status -X {method} \"$S/$id\"); b=$(status -X {method} \"$S/$id\")",
                  f"  if [ \"$a $b\" != \"{winner} {loser}\" ]; then broken=$((broken+1)); echo \"try $i (right after): $a then $b\"; fi"]
        if shape != "double-delete":
            lines.append("  status -X DELETE \"$S/$id\" >/dev/null")
    lines += ["done", "rm -f /tmp/head.$$", f"echo \"$broken of {tries} tries broke the rule\"", "[ \"$broken\" -eq 0 ]"]
    return "\n".join(lines) + "\n"
