"""The ``--format`` language: a small subset of Go's text/template, as Docker uses it.

A template is plain text with *actions* between ``{{`` and ``}}``::

    {{.Name}}                      a field of the data ("dot"); {{.State.Pid}} goes deeper
    {{json .Config}}               a function call: name, then arguments
    {{.Name | upper}}              a pipeline: the value on the left becomes the last argument
    {{if .Running}}up{{else}}down{{end}}
    {{range $key, $value := .Labels}}{{$key}}={{$value}} {{end}}
    {{- .Name -}}                  the dashes trim white space around the action

Inside ``range`` and ``with`` the dot is the current element. ``$`` is the whole data.
Values print as Go prints them: ``true``, ``<nil>`` for null, ``[a b]`` for a list,
``map[k:v]`` for a dict, and ``<no value>`` for a key the data does not have.

:func:`parse` reads a template once into a tree of nodes; :meth:`Template.render`
walks that tree for one piece of data. Errors carry Go's wording, with Docker's
``template parsing error:`` prefix.
"""
import operator
import re
from collections import namedtuple

from ..errors import InvalidArgument

# The tree a template is parsed into.
Text = namedtuple("Text", "text")                       # literal text, copied out
Action = namedtuple("Action", "pipe")                   # {{pipeline}}: print its value
Branch = namedtuple("Branch", "kind pipe body orelse")  # {{if}}, {{with}} or {{range}}
Pipe = namedtuple("Pipe", "decl commands")              # [$a, $b :=] command | command ...
Command = namedtuple("Command", "args pos source")      # a function or a value, with arguments
Field = namedtuple("Field", "names")                    # .A.B (names is empty for ".")
Variable = namedtuple("Variable", "name names")         # $x.A.B
Literal = namedtuple("Literal", "value")                # "text", 42, true, nil
Function = namedtuple("Function", "name")               # upper, json, index ...

Token = namedtuple("Token", "kind text pos")

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<declare>:=)
  | (?P<variable>\$\w*(?:\.\w+)*)
  | (?P<field>(?:\.\w+)+|\.)
  | (?P<number>[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
  | (?P<name>[A-Za-z_]\w*)
  | (?P<punct>[|(),])
""", re.VERBOSE)
_TRIM = " \t\r\n"
_LEFT_TRIM = re.compile(r"-[ \t\r\n]")        # "{{- " trims the text before
_RIGHT_DELIM = re.compile(r"([ \t\r\n]-)?}}")  # " -}}" trims the text after
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"'}
_KEYWORDS = {"if", "with", "range", "else", "end"}


class _Missing:
    """The value of a key the data does not have; Go prints it as ``<no value>``."""

    def __repr__(self):
        return "<no value>"


MISSING = _Missing()
_NOTHING = object()  # "no value piped in", distinct from every real value


def render(template, data):
    """Render ``template`` once against ``data``; the shortcut for one-off formats."""
    return parse(template).render(data)


def parse(template):
    """Parse a template, first turning the typed escapes ``\\t`` and ``\\n`` into tab and newline."""
    return Template(template.replace("\\t", "\t").replace("\\n", "\n"))


class Template:
    """A parsed template, ready to render any number of values."""

    def __init__(self, source):
        self.source = source
        self.nodes = _Parser(source).parse()

    def render(self, data, functions=None, missing_key_error=False):
        """Return the text for ``data``.

        ``functions`` replaces some built-in functions by name (a table header uses
        this). With ``missing_key_error`` a missing key is an error, as in
        ``docker inspect``, instead of ``<no value>``.
        """
        run = _Run(self.source, data, {**FUNCTIONS, **(functions or {})}, missing_key_error)
        run.walk(self.nodes, data)
        return "".join(run.out)


# ---------------------------------------------------------------- lexing

def _lex(source):
    """Split the source into ("text", str, pos) and ("action", tokens, pos) items.

    ``{{- `` trims the white space before an action and `` -}}`` the white space
    after it; ``{{/* ... */}}`` is a comment and produces nothing.
    """
    items, pos, trim_next = [], 0, False
    while True:
        start = source.find("{{", pos)
        text = source[pos:] if start < 0 else source[pos:start]
        if trim_next:
            text = text.lstrip(_TRIM)
        if start < 0:
            if text:
                items.append(("text", text, pos))
            return items
        inside = start + 2
        if _LEFT_TRIM.match(source, inside):
            text = text.rstrip(_TRIM)
            inside += 2
        if text:
            items.append(("text", text, pos))
        tokens, pos, trim_next = _lex_action(source, inside)
        if tokens is not None:
            items.append(("action", tokens, start))


def _lex_action(source, pos):
    """Read tokens up to ``}}``; return them (None for a comment), the end and a trim flag."""
    if source.startswith("/*", pos):
        end = source.find("*/", pos)
        close = _RIGHT_DELIM.match(source, end + 2) if end >= 0 else None
        if not close:
            raise _error(source, pos, "unclosed comment" if end < 0 else
                         "comment ends before closing delimiter")
        return None, close.end(), bool(close.group(1))
    tokens = []
    while True:
        if source.startswith("}}", pos):
            return tokens, pos + 2, False
        match = _TOKEN.match(source, pos)
        if not match:
            if pos >= len(source):
                raise _error(source, pos, "unclosed action")
            if source[pos] == '"':
                raise _error(source, pos, "unterminated quoted string")
            raise _error(source, pos,
                         f"unrecognized character in action: U+{ord(source[pos]):04X} {source[pos]!r}")
        if match.lastgroup == "space":
            if source.startswith("-}}", match.end()):
                return tokens, match.end() + 3, True
        else:
            tokens.append(Token(match.lastgroup, match.group(), pos))
        pos = match.end()


def _error(source, pos, message):
    """A parse error in Go's words: ``template: :LINE: message``."""
    line = source.count("\n", 0, pos) + 1
    return InvalidArgument(f"template parsing error: template: :{line}: {message}")


# ---------------------------------------------------------------- parsing

class _Parser:
    """Recursive descent over the lexed items, building the node tree."""

    def __init__(self, source):
        self.source = source
        self.items = _lex(source)
        self.next = 0
        self.variables = ["$"]  # names in scope, checked as Go checks them: when parsing

    def parse(self):
        nodes, stop = self._list()
        if stop:
            keyword, _, pos = stop
            raise _error(self.source, pos, f"unexpected {{{{{keyword}}}}}")
        return nodes

    def _list(self):
        """Parse nodes until ``{{else}}``/``{{end}}``; return them and that stop (None at the end)."""
        nodes = []
        while self.next < len(self.items):
            kind, value, pos = self.items[self.next]
            self.next += 1
            if kind == "text":
                nodes.append(Text(value))
                continue
            keyword = value[0].text if value and value[0].kind == "name" else None
            if keyword in ("else", "end"):
                return nodes, (keyword, value[1:], pos)
            if keyword in ("if", "with", "range"):
                nodes.append(self._branch(keyword, value[1:], pos))
            else:
                nodes.append(Action(self._pipe(value, pos, "command")))
        return nodes, None

    def _branch(self, kind, tokens, pos):
        """Parse ``{{if|with|range pipeline}} body [{{else}} orelse] {{end}}``."""
        outer = len(self.variables)
        pipe = self._pipe(tokens, pos, kind)
        inner = len(self.variables)
        body, stop = self._list()
        del self.variables[inner:]
        orelse = []
        if stop and stop[0] == "else":
            _, rest, else_pos = stop
            if rest and rest[0].kind == "name" and rest[0].text in ("if", "with"):
                # {{else if ...}} opens a branch that shares this one's {{end}}.
                orelse = [self._branch(rest[0].text, rest[1:], else_pos)]
                del self.variables[outer:]
                return Branch(kind, pipe, body, orelse)
            if rest:
                raise _error(self.source, else_pos, f"unexpected {rest[0].text!r} in else")
            orelse, stop = self._list()
        if stop is None:
            raise _error(self.source, len(self.source), "unexpected EOF")
        if stop[0] != "end":
            raise _error(self.source, stop[2], "expected end; found {{else}}")
        del self.variables[outer:]
        return Branch(kind, pipe, body, orelse)

    def _pipe(self, tokens, pos, context):
        """Parse ``[$v :=] command | command ...``; ``range`` also allows ``$k, $v :=``."""
        decl = []
        if len(tokens) > 1 and tokens[0].kind == "variable" and tokens[1].text == ":=":
            decl, tokens = [tokens[0]], tokens[2:]
        elif (context == "range" and len(tokens) > 3 and tokens[1].text == ","
              and tokens[0].kind == tokens[2].kind == "variable" and tokens[3].text == ":="):
            decl, tokens = [tokens[0], tokens[2]], tokens[4:]
        for variable in decl:
            if "." in variable.text:
                raise _error(self.source, variable.pos, f"bad variable name {variable.text!r}")
        commands = [self._command(part, pos) for part in _split(tokens, "|")]
        if not commands:
            raise _error(self.source, pos, f"missing value for {context}")
        self.variables.extend(variable.text for variable in decl)
        return Pipe(tuple(variable.text for variable in decl), tuple(commands))

    def _command(self, tokens, pos):
        """Parse one command: its operands, the first of which may be a function name."""
        if not tokens:
            raise _error(self.source, pos, "missing value for command")
        args, i = [], 0
        while i < len(tokens):
            arg, i = self._operand(tokens, i)
            args.append(arg)
        first, last = tokens[0], tokens[-1]
        source = self.source[first.pos:last.pos + len(last.text)]
        return Command(tuple(args), first.pos, source)

    def _operand(self, tokens, i):
        """Parse the operand at ``tokens[i]``; return it and the index after it."""
        token = tokens[i]
        kind, text = token.kind, token.text
        if kind == "field":
            return Field(tuple(text.split(".")[1:]) if text != "." else ()), i + 1
        if kind == "variable":
            name, *names = text.split(".")
            if name not in self.variables:
                raise _error(self.source, token.pos, f'undefined variable "{name}"')
            return Variable(name, tuple(names)), i + 1
        if kind == "string":
            return Literal(re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[0]), text[1:-1])), i + 1
        if kind == "raw":
            return Literal(text[1:-1]), i + 1
        if kind == "number":
            return Literal(float(text) if re.search("[.eE]", text) else int(text)), i + 1
        if kind == "name" and text in ("true", "false", "nil"):
            return Literal({"true": True, "false": False, "nil": None}[text]), i + 1
        if kind == "name" and text not in _KEYWORDS:
            if text not in FUNCTIONS:
                raise _error(self.source, token.pos, f'function "{text}" not defined')
            return Function(text), i + 1
        if text == "(":
            depth, end = 0, i
            for end in range(i, len(tokens)):
                depth += {"(": 1, ")": -1}.get(tokens[end].text, 0)
                if depth == 0:
                    break
            if depth:
                raise _error(self.source, token.pos, "unclosed left paren")
            return self._pipe(tokens[i + 1:end], token.pos, "parenthesized pipeline"), end + 1
        raise _error(self.source, token.pos, f"unexpected {text!r} in operand")


def _split(tokens, separator):
    """Split tokens on ``separator`` outside parentheses (a pipeline into its commands)."""
    parts, current, depth = [], [], 0
    for token in tokens:
        depth += {"(": 1, ")": -1}.get(token.text, 0)
        if token.text == separator and depth == 0:
            parts.append(current)
            current = []
        else:
            current.append(token)
    if current or parts:
        parts.append(current)
    return parts


# ---------------------------------------------------------------- execution

class _ExecError(Exception):
    """A problem while rendering, reported with the command where it happened."""


class _Run:
    """The state of one rendering: output so far, variables in scope, the data."""

    def __init__(self, source, data, functions, missing_key_error):
        self.source = source
        self.functions = functions
        self.missing_key_error = missing_key_error
        self.variables = [("$", data)]
        self.out = []

    def walk(self, nodes, dot):
        """Write the text of ``nodes`` with ``dot`` as the current value."""
        for node in nodes:
            if isinstance(node, Text):
                self.out.append(node.text)
            elif isinstance(node, Action):
                value = self.pipe(node.pipe, dot)
                if not node.pipe.decl:
                    self.out.append(go_str(value))
            else:
                self.branch(node, dot)

    def branch(self, node, dot):
        """Run ``if``/``with`` once or ``range`` per element; undo their variables after."""
        mark = len(self.variables)
        value = self.pipe(node.pipe, dot, declare=node.kind != "range")
        if node.kind == "range":
            elements = self.range_elements(value, node.pipe.commands[-1])
            for key, element in elements:
                names = node.pipe.decl
                bound = [element] if len(names) == 1 else [key, element]
                self.variables.extend(zip(names, bound))
                self.walk(node.body, element)
                del self.variables[mark:]
            if not elements:
                self.walk(node.orelse, dot)
        elif truth(value):
            self.walk(node.body, value if node.kind == "with" else dot)
        else:
            self.walk(node.orelse, dot)
        del self.variables[mark:]

    def range_elements(self, value, command):
        """(key, element) pairs: list indexes in order, dict keys sorted as Go sorts map keys."""
        if value is None or value is MISSING:
            return []
        if isinstance(value, dict):
            return sorted(value.items(), key=lambda item: item[0])
        if isinstance(value, (list, tuple)):
            return list(enumerate(value))
        raise self.error(command, f"range can't iterate over {go_str(value)}")

    def pipe(self, pipe, dot, declare=True):
        """Run the commands left to right, each receiving the previous value as last argument."""
        value = _NOTHING
        for command in pipe.commands:
            value = self.command(command, dot, value)
        if declare:
            self.variables.extend((name, value) for name in pipe.decl)
        return value

    def command(self, command, dot, piped):
        """Call the command's function or method, or return its value."""
        first, rest = command.args[0], command.args[1:]
        args = [self.operand(arg, dot, command) for arg in rest]
        if piped is not _NOTHING:
            args.append(piped)
        if isinstance(first, Function):
            return self.call(first.name, args, command)
        if isinstance(first, (Field, Variable)) and first.names:
            receiver = dot if isinstance(first, Field) else self.variable(first.name)
            return self.fields(receiver, first.names, args, command)
        if args:
            raise self.error(command, f"can't give argument to non-function {command.source.split()[0]}")
        return self.operand(first, dot, command)

    def operand(self, node, dot, command):
        """The value of one argument."""
        if isinstance(node, Field):
            return self.fields(dot, node.names, [], command)
        if isinstance(node, Variable):
            return self.fields(self.variable(node.name), node.names, [], command)
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Function):
            return self.call(node.name, [], command)
        return self.pipe(node, dot, declare=False)

    def variable(self, name):
        """The innermost binding of ``$name`` (the parser made sure there is one)."""
        return next(value for bound, value in reversed(self.variables) if bound == name)

    def fields(self, value, names, args, command):
        """Follow ``.A.B``: dict keys or attributes; a method is called, the last with ``args``."""
        for position, name in enumerate(names):
            last = position == len(names) - 1
            value = self.field(value, name, command)
            if callable(value):
                value = value(*(args if last else []))
            elif last and args:
                raise self.error(command, f"{name} is not a method but has arguments")
        return value

    def field(self, receiver, name, command):
        """One step of a field chain, with Go's rules for missing keys and nil values."""
        if receiver is MISSING:
            if self.missing_key_error:
                raise self.error(command, f'nil data; no entry for key "{name}"')
            return MISSING
        if receiver is None:
            raise self.error(command, f"nil pointer evaluating interface {{}}.{name}")
        if isinstance(receiver, dict):
            try:
                return receiver[name]
            except KeyError:
                if self.missing_key_error:
                    raise self.error(command, f'map has no entry for key "{name}"') from None
                return MISSING
        if isinstance(receiver, (str, int, float, list, tuple)) or name.startswith("_"):
            raise self.error(command, f"can't evaluate field {name} in type {go_type(receiver)}")
        try:
            return getattr(receiver, name)
        except AttributeError:
            raise self.error(command, f"can't evaluate field {name} in type {go_type(receiver)}") from None

    def call(self, name, args, command):
        """Call a template function after checking how many arguments it takes."""
        function, arity = self.functions[name]
        if arity is not None and len(args) != arity:
            raise self.error(command, f"wrong number of args for {name}: want {arity} got {len(args)}")
        try:
            return function(*args)
        except _ExecError as exc:
            raise self.error(command, f"error calling {name}: {exc}") from None

    def error(self, command, message):
        """An execution error in Go's words: ``template: :LINE:COL: executing "" at <cmd>: ...``."""
        line = self.source.count("\n", 0, command.pos) + 1
        column = command.pos - (self.source.rfind("\n", 0, command.pos) + 1)
        return InvalidArgument(f'template parsing error: template: :{line}:{column}: '
                               f'executing "" at <{command.source}>: {message}')


# ---------------------------------------------------------------- values as Go sees them

def truth(value):
    """Go's truth: false, 0, nil, a missing key and empty strings, lists and maps are false."""
    if value is MISSING or value is None:
        return False
    if isinstance(value, (bool, int, float, str, list, tuple, dict)):
        return bool(value)
    return True


def go_str(value):
    """Print a value the way Go's fmt prints it in a template."""
    if value is MISSING:
        return "<no value>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda item: item[0])
        return "map[" + " ".join(f"{go_str(k)}:{go_str(v)}" for k, v in items) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(go_str(item) for item in value) + "]"
    return str(value)


def _go_float(value):
    """Go's %v for a float: the shortest digits that read back the same, in exponent
    form when the exponent is below -4 or at least 6 (so ``123456`` but ``1e+06``)."""
    from decimal import Decimal

    if value != value or abs(value) == float("inf"):
        return "NaN" if value != value else ("+Inf" if value > 0 else "-Inf")
    if value == 0:
        return "0"
    _, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    if not -4 <= len(digits) - 1 + exponent < 6:
        return format(value, f".{len(digits) - 1}e")
    return format(value, f".{max(0, -exponent)}f")


def go_type(value):
    """A Go-like type name for error messages."""
    names = {str: "string", bool: "bool", int: "int", float: "float64",
             list: "[]interface {}", tuple: "[]interface {}", dict: "map[string]interface {}"}
    return names.get(type(value), type(value).__name__)


# ---------------------------------------------------------------- functions

def _json(value):
    """Compact JSON, as Docker's ``json`` function writes it (no HTML escaping)."""
    import json

    return json.dumps(None if value is MISSING else value, separators=(",", ":"),
                      ensure_ascii=False, default=vars)


def _index(container, *keys):
    """``index .Map "key"`` / ``index .List 0``: a missing key gives the element type's zero value."""
    for key in keys:
        if container is None or container is MISSING:  # a nil map reads as empty
            container = {}
        if isinstance(container, dict):
            if key in container:
                container = container[key]
            else:  # Go returns the map's zero value; a map of strings gives ""
                container = "" if all(isinstance(v, str) for v in container.values()) else None
        elif isinstance(container, (list, tuple)):
            if not isinstance(key, int) or not 0 <= key < len(container):
                raise _ExecError(f"index out of range: {key}")
            container = container[key]
        else:
            raise _ExecError(f"can't index item of type {go_type(container)}")
    return container


def _len(value):
    if isinstance(value, (str, list, tuple, dict)):
        return len(value)
    raise _ExecError(f"len of type {go_type(value)}")


def _join(items, separator):
    if not isinstance(items, (list, tuple)):
        raise _ExecError(f"wrong type for value; expected []string; got {go_type(items)}")
    return separator.join(go_str(item) for item in items)


def _print(*values):
    """Go's fmt.Sprint: a space between two operands when neither is a string."""
    parts = []
    for i, value in enumerate(values):
        if i and not isinstance(values[i - 1], str) and not isinstance(value, str):
            parts.append(" ")
        parts.append(go_str(value))
    return "".join(parts)


def _title(text):
    """Upper-case the first letter of each word, leaving the rest as it is (Go's strings.Title)."""
    return re.sub(r"(?<!\w)\w", lambda m: m[0].upper(), go_str(text))


def _compare(test):
    """A two-argument comparison that refuses to compare a string with a number, as Go does."""
    def compare(a, b):
        if isinstance(a, str) != isinstance(b, str):
            raise _ExecError("incompatible types for comparison")
        return test(a, b)
    return compare


def _eq(first, *others):
    """``eq a b c``: true when ``a`` equals any of the others."""
    if not others:
        raise _ExecError("missing argument for comparison")
    return any(_compare(operator.eq)(first, other) for other in others)


def _and(*values):
    """The first false argument, or the last one."""
    return next((value for value in values if not truth(value)), values[-1])


def _or(*values):
    """The first true argument, or the last one."""
    return next((value for value in values if truth(value)), values[-1])


# name -> (function, number of arguments or None when it takes any number)
FUNCTIONS = {
    "json": (_json, 1),
    "index": (_index, None),
    "len": (_len, 1),
    "join": (_join, 2),
    "split": (lambda text, separator: go_str(text).split(separator), 2),
    "upper": (lambda text: go_str(text).upper(), 1),
    "lower": (lambda text: go_str(text).lower(), 1),
    "title": (_title, 1),
    "pad": (lambda text, left, right: f"{' ' * left}{text}{' ' * right}" if text else "", 3),
    "truncate": (lambda text, length: go_str(text)[:length], 2),
    "print": (_print, None),
    "println": (lambda *values: " ".join(go_str(value) for value in values) + "\n", None),
    "not": (lambda value: not truth(value), 1),
    "and": (_and, None),
    "or": (_or, None),
    "eq": (_eq, None),
    "ne": (_compare(operator.ne), 2),
    "lt": (_compare(operator.lt), 2),
    "le": (_compare(operator.le), 2),
    "gt": (_compare(operator.gt), 2),
    "ge": (_compare(operator.ge), 2),
}
