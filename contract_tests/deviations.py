"""Known deviations: one YAML file format and one loader, for `session-contract run`, `diff` and the pytest plugin.

The file is a YAML mapping from ids to the reason (a non-empty string) the target is known to
differ from the contract. Two kinds of id share it:
- a property id of the conformance suite (`list.always-404`), used by `session-contract run`;
- a difference id of `session-contract diff`, `KIND:METHOD PATH[ STATUS][ FIELD]` in the shape of
  its kind (`DIFFERENCE_SHAPES`, e.g. `"undocumented-error:POST /api/v1/session 500"`), used by `diff`.
Each command uses its own kind and leaves the other alone, so one file serves both.

A key containing `*` is a glob matched against the whole id, property ids and difference ids alike:
`*` matches any run of characters, none included and `.`, `:`, `/` and spaces included (fnmatch's
`*`), every other character matches only itself (`?` and `[` too), so `schema.*` matches
`schema.stateless` but not `schemaX` or `schema`, `undocumented-error:*` matches every undocumented
error, and a glob that matches no property id and no possible difference id is an error.

Where keys overlap, an exact key wins over a glob, and of globs the first listed. A plain key must be
a registered property id or a well-formed difference id. Every mistake is a `DeviationsError`
whose message is one line naming the file, and the line and column (1-based) where YAML can say:
invalid YAML, an empty file (`{}` lists nothing), a top level that is not a mapping, a duplicate
key, a reason that is not a non-empty string, a key of `*` alone (it would excuse everything), unknown
ids (all of them, each with the nearest known id when one is close).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml
from yaml.reader import ReaderError

from contract_tests.properties import PROPERTIES
from session_spec.rules import HTTP_METHODS

DIFFERENCE_SHAPES: dict[str, str] = {
    "operation": "operation:METHOD PATH",
    "status": "status:METHOD PATH STATUS",
    "undocumented-error": "undocumented-error:METHOD PATH STATUS (a 4xx or 5xx)",
    "parameter": "parameter:METHOD PATH IN.NAME (IN: query, header, path or cookie)",
    "request-body": "request-body:METHOD PATH",
    "request-field": "request-field:METHOD PATH FIELD (a field such as data.key, or (body))",
    "response-body": "response-body:METHOD PATH STATUS",
    "response-field": "response-field:METHOD PATH STATUS FIELD (a field such as data.key, or (body))",
}
"""The shape of a `session-contract diff` difference id, by its kind (the text before the first `:`).
METHOD is an HTTP method in capitals, PATH the OpenAPI path (`/` and no space), STATUS a documented
status (`404`, `4XX`, `default`)."""

DIFFERENCE_KINDS = tuple(DIFFERENCE_SHAPES)
"""The first part of a `session-contract diff` difference id (`KIND:...`)."""

PARAMETER_LOCATIONS = ("query", "header", "path", "cookie")


class DeviationsError(ValueError):
    """The known-deviations file cannot be used; the message says why (one line)."""


@dataclass(frozen=True)
class KnownDeviations:
    """A known-deviations file: reasons by property id (`run`; globs already expanded to the
    registered ids they match) and by difference id or glob (`diff`, in file order)."""

    properties: dict[str, str] = field(default_factory=dict)
    differences: dict[str, str] = field(default_factory=dict)


# --- the glob rule ---------------------------------------------------------------------------------


def is_glob(key: str) -> bool:
    return "*" in key


@cache
def _glob_pattern(glob: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in glob.split("*")), re.DOTALL)


def glob_matches(key: str, id_: str) -> bool:
    """Whether the key (a glob, or a plain id) names `id_`: see the glob rule above."""
    return _glob_pattern(key).fullmatch(id_) is not None


def reason_for(id_: str, known: Mapping[str, str]) -> tuple[str, str] | None:
    """(key, reason) of the key of `known` that names `id_`: the id itself, else the first glob matching it."""
    if id_ in known:
        return id_, known[id_]
    return next(((key, reason) for key, reason in known.items() if is_glob(key) and glob_matches(key, id_)), None)


# --- which difference ids can exist ----------------------------------------------------------------
# The difference ids form a regular language; a small automaton of it decides both whether a plain key
# is a difference id and whether a glob can match one (the product of the glob and the automaton).

_Test = Callable[[str], bool]


class _Automaton:
    """A nondeterministic automaton over characters, built from pieces (Thompson's construction)."""

    def __init__(self) -> None:
        self.moves: list[list[tuple[_Test, int]]] = []
        self.free: list[list[int]] = []  # moves that read nothing

    def state(self) -> int:
        self.moves.append([])
        self.free.append([])
        return len(self.moves) - 1


_Piece = Callable[[_Automaton, int], int]  # adds itself from a state, returns the state it ends in


def _char(test: _Test) -> _Piece:
    def add(automaton: _Automaton, start: int) -> int:
        end = automaton.state()
        automaton.moves[start].append((test, end))
        return end
    return add


def _text(text: str) -> _Piece:
    return _seq(*(_char(wanted.__eq__) for wanted in text))


def _seq(*pieces: _Piece) -> _Piece:
    def add(automaton: _Automaton, start: int) -> int:
        for piece in pieces:
            start = piece(automaton, start)
        return start
    return add


def _any_of(*pieces: _Piece) -> _Piece:
    def add(automaton: _Automaton, start: int) -> int:
        end = automaton.state()
        for piece in pieces:
            branch = automaton.state()
            automaton.free[start].append(branch)
            automaton.free[piece(automaton, branch)].append(end)
        return end
    return add


def _repeated(test: _Test) -> _Piece:
    """Zero or more characters passing `test`."""
    def add(automaton: _Automaton, start: int) -> int:
        loop = automaton.state()
        automaton.free[start].append(loop)
        automaton.moves[loop].append((test, loop))
        return loop
    return add


def _one_of(characters: str) -> _Piece:
    return _char(lambda c: c in characters)


def _anything(c: str) -> bool:
    return True


_METHOD = _any_of(*(_text(method.upper()) for method in HTTP_METHODS))
_PATH = _seq(_text("/"), _repeated(lambda c: c != " "))
_STATUS = _any_of(_seq(_one_of("12345"), _one_of("0123456789X"), _one_of("0123456789X")), _text("default"))
_ERROR_STATUS = _seq(_one_of("45"), _one_of("0123456789X"), _one_of("0123456789X"))
_PARAMETER = _seq(_any_of(*(_text(where) for where in PARAMETER_LOCATIONS)), _text("."), _char(_anything), _repeated(_anything))
_FIELD = _seq(_char(_anything), _repeated(_anything))
_AFTER_PATH: dict[str, tuple[_Piece, ...]] = {
    "operation": (),
    "status": (_STATUS,),
    "undocumented-error": (_ERROR_STATUS,),
    "parameter": (_PARAMETER,),
    "request-body": (),
    "request-field": (_FIELD,),
    "response-body": (_STATUS,),
    "response-field": (_STATUS, _FIELD),
}


@cache
def _difference_ids() -> tuple[_Automaton, int, int]:
    """The automaton of every well-formed difference id: (automaton, start, accepting state)."""
    automaton = _Automaton()
    start = automaton.state()
    kinds = [_seq(_text(kind + ":"), _METHOD, _text(" "), _PATH, *(_seq(_text(" "), piece) for piece in _AFTER_PATH[kind]))
             for kind in DIFFERENCE_KINDS]
    return automaton, start, _any_of(*kinds)(automaton, start)


def can_name_a_difference(key: str) -> bool:
    """Whether some well-formed difference id is named by `key`: for a plain key, whether it is one;
    for a glob, whether it matches at least one."""
    automaton, start, accept = _difference_ids()
    seen: set[tuple[int, int]] = set()
    todo = [(0, start)]
    while todo:
        at, state = todo.pop()
        if (at, state) in seen:
            continue
        seen.add((at, state))
        if at == len(key) and state == accept:
            return True
        todo += [(at, then) for then in automaton.free[state]]
        if at == len(key):
            continue
        if key[at] == "*":  # `*` reads nothing more, or any character (every test passes some character)
            todo.append((at + 1, state))
            todo += [(at, then) for _, then in automaton.moves[state]]
        else:
            todo += [(at + 1, then) for test, then in automaton.moves[state] if test(key[at])]
    return False


def property_ids_named(key: str) -> list[str]:
    """The registered property ids `key` names (a plain key: itself, when registered)."""
    return [pid for pid in PROPERTIES if glob_matches(key, pid)]


def is_known(key: str) -> bool:
    return bool(property_ids_named(key)) or can_name_a_difference(key)


# --- messages --------------------------------------------------------------------------------------


def _nearest(key: str) -> str | None:
    """The known id (or glob) nearest to an unknown key, when one is close."""
    kind, colon, rest = key.partition(":")
    if colon and not is_glob(kind):
        close = difflib.get_close_matches(kind, DIFFERENCE_KINDS, n=1)
        return f"{close[0]}:{rest}" if close else None
    candidates = list(PROPERTIES)
    if is_glob(key):
        groups = {pid.rsplit(".", depth)[0] for pid in PROPERTIES for depth in (1, 2) if pid.count(".") >= depth}
        candidates = [*(f"{group}.*" for group in sorted(groups)), *(f"{kind}:*" for kind in DIFFERENCE_KINDS)]
    close = difflib.get_close_matches(key, candidates, n=1)
    return close[0] if close else None


def _unknown(key: str) -> str:
    kind, colon, _ = key.partition(":")
    notes = ["a glob that matches no property id and no difference id"] if is_glob(key) else []
    nearest = _nearest(key)
    if colon and kind in DIFFERENCE_SHAPES:
        notes.append(f"a difference id of kind {kind} is {DIFFERENCE_SHAPES[kind]}")
    elif nearest is not None and is_known(nearest):
        notes.append(f"did you mean {nearest!r}?")
    elif not notes:
        notes.append("neither a property id (session-contract run --help lists them) nor a difference id (KIND:METHOD PATH ...)")
    return f"unknown id {key!r} ({'; '.join(notes)})"


def _where(mark: yaml.Mark | None) -> str:
    return f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""


def _position(text: str, offset: int) -> str:
    """`:line:column` (1-based) of a character offset into `text`."""
    line = text.count("\n", 0, offset) + 1
    column = offset - text.rfind("\n", 0, offset)
    return f":{line}:{column}"


def _yaml_problem(path: str | Path, text: str, exc: yaml.YAMLError) -> str:
    """`PATH:LINE:COLUMN: invalid YAML: PROBLEM (CONTEXT, line L column C)`, from PyYAML's marks."""
    if isinstance(exc, ReaderError):  # a character YAML does not allow (a control character, ...)
        return f"{path}{_position(text, exc.position)}: invalid YAML: unacceptable character #x{exc.character:04x} ({exc.reason})"
    if isinstance(exc, yaml.MarkedYAMLError):
        problem = " ".join(str(exc.problem or exc.context or type(exc).__name__).split()).removeprefix("but ")
        context = ""
        if exc.context and exc.problem:
            mark = exc.context_mark
            at = f", line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
            context = f" ({' '.join(exc.context.split())}{at})"
        return f"{path}{_where(exc.problem_mark or exc.context_mark)}: invalid YAML: {problem}{context}"
    return f"{path}: invalid YAML: {' '.join(str(exc).split()) or type(exc).__name__}"


def _what(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    kind = str(node.tag).rsplit(":", 1)[-1]
    if kind == "null":
        return "nothing"
    if kind == "str":
        return "a string" if node.value.strip() else "a blank string" if node.value else "an empty string"
    return f"{kind} {node.value}"


# --- loading ---------------------------------------------------------------------------------------


def _read(path: str | Path) -> str:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DeviationsError(f"{path}: cannot read the known-deviations file: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[:exc.start].decode("utf-8", "replace")
        where = _position(before, len(before))
        raise DeviationsError(f"{path}{where}: the known-deviations file is not UTF-8 text (byte 0x{data[exc.start]:02x})") from None


def _mapping(path: str | Path, text: str) -> yaml.MappingNode:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise DeviationsError(_yaml_problem(path, text, exc)) from None
    if node is None:
        raise DeviationsError(f"{path}: the known-deviations file is empty: map property or difference ids to reasons "
                              "(or write {} for a file that lists none)")
    if not isinstance(node, yaml.MappingNode):
        raise DeviationsError(f"{path}{_where(node.start_mark)}: the top level must be a mapping of ids to reasons, not {_what(node)}")
    return node


def _entries(node: yaml.MappingNode) -> tuple[list[tuple[str, str]], list[tuple[int, int, str]]]:
    """(key, reason) in file order, and the problems found: (line, column, message)."""
    entries: list[tuple[str, str]] = []
    problems: list[tuple[int, int, str]] = []
    first: dict[str, int] = {}
    for key_node, value_node in node.value:
        mark = key_node.start_mark
        at = (mark.line + 1, mark.column + 1)
        if not isinstance(key_node, yaml.ScalarNode):
            problems.append((*at, f"a key must be an id, not {_what(key_node)}"))
            continue
        key = str(key_node.value)
        if key in first:
            problems.append((*at, f"duplicate key {key!r} (first at line {first[key]})"))
            continue
        first[key] = at[0]
        if key.strip("*") == "":
            problems.append((*at, f"{key!r} names every property and every difference, so no run could fail: "
                                  "list each deviation, or a group such as 'schema.*'"))
        elif not is_known(key):
            problems.append((*at, _unknown(key)))
        reason = value_node.value.strip() if isinstance(value_node, yaml.ScalarNode) and value_node.tag == "tag:yaml.org,2002:str" else ""
        if not reason:
            value_mark = value_node.start_mark
            problems.append((value_mark.line + 1, value_mark.column + 1,
                             f"the reason for {key!r} must be a non-empty string, got {_what(value_node)}"))
        entries.append((key, reason))
    return entries, problems


def load_known_deviations(path: str | Path | None) -> KnownDeviations:
    """The file at `path` (none: nothing is known). DeviationsError (one line) for every mistake the
    module docstring lists; all the key and reason problems of a file are named at once."""
    if not path:
        return KnownDeviations()
    text = _read(path)
    entries, problems = _entries(_mapping(path, text))
    if problems:
        raise DeviationsError("; ".join(f"{path}:{line}:{column}: {message}" for line, column, message in sorted(problems)))
    known = KnownDeviations()
    for key, reason in entries:
        if can_name_a_difference(key):
            known.differences[key] = reason
    by_key = dict(entries)
    for pid in PROPERTIES:
        named = reason_for(pid, by_key)
        if named is not None:
            known.properties[pid] = named[1]
    return known


def load_deviations(path: str | Path | None) -> dict[str, str]:
    """The property part of the known-deviations file (what `session-contract run` uses)."""
    return load_known_deviations(path).properties
