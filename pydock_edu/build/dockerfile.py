"""The Dockerfile parser of ``pydock build``: text in, build stages of instructions out.

Parsing takes three passes, like Docker's own front end:

1. Lines become instructions. Parser directives (``# escape=`` and ``# syntax=``) are read at the
   very top, comment lines are dropped, a line ending in the escape character continues on the
   next one, and the bodies of here-documents (``RUN <<EOF``) are collected.
2. Each instruction is split into its name, its ``--flags`` and its arguments in the grammar of
   that instruction: exec form (a JSON array) or shell form, ``key=value`` pairs, plain words.
3. Instructions are grouped into stages, each begun by ``FROM``; only ``ARG`` may come first.

Variables (``$VAR``, ``${VAR:-default}``) are not replaced here: their values depend on the ARG
and ENV instructions run so far, so the builder calls :func:`expand` at each step, for the
instructions in :data:`EXPANDED`.
"""

import json
import re

from pydock_edu.errors import InvalidArgument

# Instructions whose arguments the builder passes through expand() (Docker's "environment
# replacement" list, plus ARG default values). RUN, CMD and ENTRYPOINT are left to the shell.
EXPANDED = frozenset({"add", "arg", "copy", "env", "expose", "from", "label", "stopsignal",
                      "user", "volume", "workdir"})

# The --flags each instruction accepts: str takes a value, bool may stand alone, list may repeat.
FLAGS = {
    "from": {"platform": str},
    "run": {"mount": list, "network": str, "security": str},
    "copy": {"from": str, "chown": str, "chmod": str, "link": bool, "parents": bool,
             "exclude": list},
    "add": {"chown": str, "chmod": str, "link": bool, "keep-git-dir": bool, "checksum": str,
            "unpack": bool, "exclude": list},
    "healthcheck": {"interval": str, "timeout": str, "start-period": str,
                    "start-interval": str, "retries": str},
}

_DIRECTIVE = re.compile(r"#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_KNOWN_DIRECTIVES = ("syntax", "escape", "check")
_HEREDOC = re.compile(r"(\d*)<<(-?)([^<]*)")
_STAGE_NAME = re.compile(r"[a-z][a-z0-9-_.]*")
_VARIABLE_NAME = re.compile(r"[A-Za-z0-9_]+")
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)([^\d.]*)")
_NANOSECONDS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": 10**9,
                "m": 60 * 10**9, "h": 3600 * 10**9}
_HEALTHCHECK_TIMES = (("interval", "Interval"), ("timeout", "Timeout"),
                      ("start-period", "StartPeriod"), ("start-interval", "StartInterval"))


class DockerfileError(InvalidArgument):
    """A Dockerfile that cannot be parsed or built; the message reads ``<file>:<line>: <what>``."""

    def __init__(self, filename, line, what):
        super().__init__(f"{filename}:{line}: {what}")
        self.filename, self.line, self.what = filename, line, what


class DockerfileSyntaxError(ValueError):
    """A mistake found in a piece of Dockerfile text whose file and line are not known here.

    :func:`parse` turns it into a :class:`DockerfileError`; the builder does the same with the
    errors of :func:`expand` (``${VAR?message}``, an unclosed quote).
    """

    def __init__(self, what, line=None):
        super().__init__(what)
        self.line = line


# Plain classes rather than dataclasses: importing dataclasses costs more than a cached
# `pydock build` may spend on everything else.


class Heredoc:
    """A here-document: the lines after an instruction up to the line holding only ``name``."""

    def __init__(self, name, content="", expand=True, chomp=False):
        self.name = name
        self.content = content  # every line ends in "\n"; leading tabs are already gone for <<-
        self.expand = expand  # False when the delimiter was quoted (<<"EOF"): no $VAR replacement
        self.chomp = chomp  # written <<-EOF: leading tabs stripped from each line


class Instruction:
    """One instruction, with its arguments split but no variable replaced yet.

    ``args`` depends on the instruction: shell form (RUN, CMD, ENTRYPOINT) is one string, the raw
    rest of the line; exec form (``json`` true) is the JSON list. ADD, COPY, VOLUME, EXPOSE and
    FROM hold whitespace-separated words; MAINTAINER, USER, WORKDIR and STOPSIGNAL one string;
    ENV and LABEL alternate keys and values; ARG holds ``name`` or ``name=value`` words;
    HEALTHCHECK starts with ``"CMD"`` or ``"NONE"``; ONBUILD holds the trigger text as the image
    stores it (``inner`` is that text parsed). Words keep their quotes until :func:`expand`.
    """

    def __init__(self, cmd, args=None, json=False, flags=None, original="", line=0, heredocs=None,
                 inner=None, escape="\\"):
        self.cmd = cmd  # lowercase: "run", "copy"...
        self.args = [] if args is None else args
        self.json = json
        self.flags = {} if flags is None else flags  # str value, bool for a switch, list if repeatable
        self.original = original  # as written, continuation lines joined (what `docker history` shows)
        self.line = line  # the instruction's first line
        self.heredocs = [] if heredocs is None else heredocs
        self.inner = inner  # ONBUILD: the trigger, parsed
        self.escape = escape  # the file's escape character, which expand() needs

    def heredoc(self, word):
        """The here-document that an argument such as ``<<EOF`` stands for, or None."""
        wanted = _heredoc_word(word, self.escape)
        return next((doc for doc in self.heredocs if wanted and doc.name == wanted.name), None)


class Stage:
    """A build stage: ``FROM base [AS name]`` and the instructions up to the next FROM."""

    def __init__(self, name, base, platform, line, from_instruction, instructions=None):
        self.name = name  # lowercased, as Docker compares stage names; None without AS
        self.base = base
        self.platform = platform
        self.line = line
        self.from_instruction = from_instruction
        self.instructions = [] if instructions is None else instructions


class Dockerfile:
    """A parsed Dockerfile."""

    def __init__(self, filename, escape, directives, args_before_from, stages, warnings):
        self.filename, self.escape, self.directives = filename, escape, directives
        self.args_before_from, self.stages, self.warnings = args_before_from, stages, warnings


def parse(text, filename="Dockerfile"):
    """Parse the text of a Dockerfile; raise :class:`DockerfileError` naming the faulty line."""
    reader = _Lines(text)
    instructions = []
    line = 1
    try:
        for line, source in reader:
            instruction = _instruction(source, line, reader.escape)
            reader.read_heredocs(instruction.inner or instruction)
            if instruction.inner:
                instruction.args = [_trigger_text(instruction.inner)]
            instructions.append(instruction)
    except DockerfileSyntaxError as err:
        raise DockerfileError(filename, err.line or line, str(err)) from None
    if not instructions:
        raise DockerfileError(filename, max(reader.count, 1),
                              f"the Dockerfile ({filename}) cannot be empty")

    stages, args_before_from = [], []
    for instruction in instructions:
        if instruction.cmd == "from":
            words = instruction.args
            stages.append(Stage(name=words[2].lower() if len(words) == 3 else None, base=words[0],
                                platform=instruction.flags.get("platform"),
                                line=instruction.line, from_instruction=instruction))
        elif stages:
            stages[-1].instructions.append(instruction)
        elif instruction.cmd == "arg":
            args_before_from.append(instruction)
        else:
            raise DockerfileError(filename, instruction.line, "no build stage in current context")
    if not stages:
        raise DockerfileError(filename, instructions[-1].line, "no build stage in current context")

    warnings = [f"{filename}:{n}: empty continuation line (these will become errors in Docker)"
                for n in reader.empty_continuations]
    return Dockerfile(filename=filename, escape=reader.escape, directives=reader.directives,
                      args_before_from=args_before_from, stages=stages, warnings=warnings)


def parse_trigger(expression, filename="Dockerfile", line=1):
    """Parse an ONBUILD trigger kept in a base image, run by the build whose FROM is at ``line``."""
    reader = _Lines(expression, directives=False)
    try:
        _, source = next(iter(reader), (line, ""))
        instruction = _instruction(f"ONBUILD {source}", line, reader.escape).inner
        reader.read_heredocs(instruction)
    except DockerfileSyntaxError as err:
        raise DockerfileError(filename, line, f"ONBUILD trigger: {err}") from None
    return instruction


def parse_env_pairs(instruction, env=None):
    """The ``(key, value)`` pairs of an ENV or LABEL, with quotes removed and variables replaced.

    ``env`` holds the ARG and ENV values in force before the instruction: every pair of one
    instruction sees the same values, as in Docker.
    """
    words = [expand(word, env or {}, instruction.escape) for word in instruction.args]
    return list(zip(words[::2], words[1::2]))


def parse_arg_pairs(instruction, env=None):
    """The ``(name, default)`` pairs of an ARG; ``default`` is None when none is written."""
    pairs = []
    for word in instruction.args:
        name, has_default, default = word.partition("=")
        pairs.append((expand(name, env or {}, instruction.escape),
                      expand(default, env or {}, instruction.escape) if has_default else None))
    return pairs


def parse_healthcheck(instruction):
    """A HEALTHCHECK as the image config stores it: times in nanoseconds.

    Options left out are left out here too, as in Docker's image config; the engine then uses
    its defaults (interval 30s, timeout 30s, start period 0s, start interval 5s, 3 retries).
    """
    kind, *command = instruction.args
    if kind == "NONE":
        return {"Test": ["NONE"]}
    config = {"Test": ["CMD", *command] if instruction.json else ["CMD-SHELL", *command]}
    for flag, key in _HEALTHCHECK_TIMES:
        if flag in instruction.flags:
            nanoseconds = parse_duration(instruction.flags[flag])
            if nanoseconds and nanoseconds < 10**6:
                raise DockerfileSyntaxError(f'Interval "{flag}" cannot be less than 1ms')
            if nanoseconds:
                config[key] = nanoseconds
    if "retries" in instruction.flags:
        text = instruction.flags["retries"]
        if not re.fullmatch(r"[+-]?\d+", text):
            raise DockerfileSyntaxError(f'--retries must be a whole number, not "{text}"')
        if int(text) < 0:
            raise DockerfileSyntaxError(f"--retries cannot be negative ({int(text)})")
        if int(text):
            config["Retries"] = int(text)
    return config


def parse_duration(text):
    """Nanoseconds in a Go duration such as ``30s``, ``1m30s``, ``500ms`` or ``1.5h``."""
    sign, body = (-1, text[1:]) if text.startswith("-") else (1, text.removeprefix("+"))
    if body == "0":
        return 0
    if not body:
        raise DockerfileSyntaxError(f'time: invalid duration "{text}"')
    from decimal import Decimal  # exact sums of decimal fractions, as Go's parser makes them

    total, position = Decimal(0), 0
    while position < len(body):
        part = _DURATION_PART.match(body, position)
        if not part:
            raise DockerfileSyntaxError(f'time: invalid duration "{text}"')
        number, unit = part.groups()
        if not unit:
            raise DockerfileSyntaxError(f'time: missing unit in duration "{text}"')
        if unit not in _NANOSECONDS:
            raise DockerfileSyntaxError(f'time: unknown unit "{unit}" in duration "{text}"')
        total += Decimal(number) * _NANOSECONDS[unit]
        position = part.end()
    return sign * int(total)


# Variable substitution ---------------------------------------------------------------------


def expand(text, env, escape="\\"):
    """Process ``text`` as one word, the way Docker's shell lexer does: remove quotes and escape
    characters, and replace ``$VAR``, ``${VAR}`` and the forms ``${VAR:-word}``,
    ``${VAR-word}``, ``${VAR:+word}``, ``${VAR+word}``, ``${VAR:?message}`` and ``${VAR?message}``.

    An unset variable becomes the empty string. Nothing inside single quotes is replaced; the
    escape character protects the next character (``\\$VAR`` stays ``$VAR``). With a colon the
    forms treat an empty value as unset. Raises :class:`DockerfileSyntaxError`.
    """
    return _Expansion(text, env, escape).word()


def expand_words(text, env, escape="\\"):
    """Like :func:`expand`, then split into words at whitespace that no quote or escape protects
    (a variable's value is split too, unless it is quoted)."""
    return _Expansion(text, env, escape).words()


def expand_heredoc(content, env, escape="\\"):
    """Replace the variables in a here-document body, as a shell does for ``<<EOF`` (unquoted):
    quotes are ordinary characters and the escape protects only ``$`` and itself."""
    return _Expansion(content, env, escape, raw=True).word()


class _Expansion:
    """One left-to-right scan of a text: quotes, escape characters and ``$`` substitutions."""

    def __init__(self, text, env, escape, raw=False):
        self.text, self.env, self.escape, self.raw = text, env, escape, raw
        self.position = 0

    def word(self):
        return "".join(piece for piece, _ in self._pieces())

    def words(self):
        words, word, in_word = [], "", False
        for piece, splittable in self._pieces():
            if not splittable:
                word, in_word = word + piece, in_word or bool(piece)
                continue
            for char in piece:
                if not char.isspace():
                    word, in_word = word + char, True
                elif in_word:
                    words.append(word)
                    word, in_word = "", False
        if in_word:
            words.append(word)
        return words

    def _pieces(self, stop=None):
        """Yield ``(text, splittable)`` pieces up to the character ``stop``, or to the end.

        Quoted and escaped text is not splittable into words; plain text and ``$VAR`` values are.
        """
        text = self.text
        while self.position < len(text):
            char = text[self.position]
            if char == stop:
                self.position += 1
                return
            if char == "$":
                yield self._dollar(), True
            elif char == self.escape:
                following = text[self.position + 1:self.position + 2]
                self.position += 2
                kept = char if self.raw and following not in ("$", char) else ""
                yield kept + following, False
            elif char == "'" and not self.raw:
                yield self._single_quoted(), False
            elif char == '"' and not self.raw:
                yield self._double_quoted(), False
            else:
                self.position += 1
                yield char, True
        if stop:
            raise DockerfileSyntaxError(f"missing '{stop}' in substitution: {text}")

    def _single_quoted(self):
        end = self.text.find("'", self.position + 1)
        if end < 0:
            raise DockerfileSyntaxError(
                "unexpected end of statement while looking for matching single-quote")
        piece = self.text[self.position + 1:end]
        self.position = end + 1
        return piece

    def _double_quoted(self):
        """Inside double quotes ``$`` still works; the escape protects only ``"``, ``$``, itself."""
        text, out = self.text, []
        self.position += 1
        while self.position < len(text):
            char = text[self.position]
            following = text[self.position + 1:self.position + 2]
            if char == '"':
                self.position += 1
                return "".join(out)
            if char == "$":
                out.append(self._dollar())
            elif char == self.escape and following in ('"', "$", self.escape):
                out.append(following)
                self.position += 2
            else:
                out.append(char)
                self.position += 1
        raise DockerfileSyntaxError(
            "unexpected end of statement while looking for matching double-quote")

    def _dollar(self):
        self.position += 1
        if self.text.startswith("{", self.position):
            return self._braced()
        name = self._name()
        return self.env.get(name, "") if name else "$"

    def _name(self):
        """Read a variable name (letters, digits, ``_``) at the position; "" if there is none."""
        match = _VARIABLE_NAME.match(self.text, self.position)
        if not match:
            return ""
        self.position = match.end()
        return match[0]

    def _braced(self):
        """``${NAME}`` or ``${NAME<op>word}``, the position being at ``{``."""
        self.position += 1
        name = self._name()
        if not name:
            raise DockerfileSyntaxError(f"bad substitution: {self.text}")
        colon = self.text.startswith(":", self.position)
        self.position += colon
        op = self.text[self.position:self.position + 1]
        if op == "}" and not colon:
            self.position += 1
            return self.env.get(name, "")
        if not op:
            raise DockerfileSyntaxError(f"missing '}}' in substitution: {self.text}")
        if op not in ("-", "+", "?"):
            raise DockerfileSyntaxError(
                f"unsupported modifier ({op}) in substitution: {self.text}")
        self.position += 1
        word = "".join(piece for piece, _ in self._pieces(stop="}"))
        value = self.env.get(name)
        is_set = value is not None and not (colon and value == "")
        if op == "-":
            return value if is_set else word
        if op == "+":
            return word if is_set else ""
        if is_set:
            return value
        raise DockerfileSyntaxError(f"{name}: {word or 'is not set'}")


# Pass 1: lines to instructions -------------------------------------------------------------


class _Lines:
    """The lines of a Dockerfile, read one instruction at a time (iterate for ``(line, text)``)."""

    def __init__(self, text, directives=True):
        self.lines = text.removeprefix("\ufeff").split("\n")
        if self.lines[-1] == "":
            self.lines.pop()
        self.count = 0  # lines read so far, so also the number of the last line read
        self.escape = "\\"
        self.directives = {}
        self.reading_directives = directives
        self.empty_continuations = []

    def _next(self):
        self.count += 1
        return self.lines[self.count - 1].removesuffix("\r")

    def __iter__(self):
        """Yield each instruction's first line number and its text, continuation lines joined."""
        while self.count < len(self.lines):
            stripped = self._next().lstrip()
            if self.reading_directives:
                self._directive(stripped)
            if not stripped or stripped.startswith("#"):
                continue
            start = self.count
            text, continued = self._continuation(stripped)
            while continued and self.count < len(self.lines):
                line = self._next()
                if line.lstrip().startswith("#"):
                    continue
                if not line.strip():
                    self.empty_continuations.append(self.count)
                    continue
                more, continued = self._continuation(line)
                text += more
            if text.strip():
                yield start, text

    def _directive(self, stripped):
        """Record ``# key=value`` if it is a known directive; anything else ends the directives."""
        match = _DIRECTIVE.fullmatch(stripped)
        if not match or match[1].lower() not in _KNOWN_DIRECTIVES:
            self.reading_directives = False
            return
        key, value = match[1].lower(), match[2]
        if key in self.directives:
            raise DockerfileSyntaxError(f"only one {key} parser directive can be used", self.count)
        if key == "escape":
            if value not in ("\\", "`"):
                raise DockerfileSyntaxError(
                    f"invalid escape token '{value}' does not match ` or \\", self.count)
            self.escape = value
        self.directives[key] = value

    def _continuation(self, line):
        """``(line without its final escape, True)`` if the line continues, else ``(line, False)``.

        The escape may be followed by blanks, but an escaped escape (``\\\\``) ends the line.
        """
        body = line.rstrip(" \t")
        if body.endswith(self.escape) and not body.endswith(self.escape * 2):
            return body[:-1], True
        return line, False

    def read_heredocs(self, instruction):
        """Read the bodies of the instruction's here-documents, which follow it in order."""
        for doc in instruction.heredocs:
            lines = []
            while True:
                if self.count == len(self.lines):
                    raise DockerfileSyntaxError(f"unterminated heredoc <<{doc.name}")
                line = self._next()
                if doc.chomp:
                    line = line.lstrip("\t")
                if line == doc.name:
                    break
                lines.append(line + "\n")
            doc.content = "".join(lines)


def _trigger_text(inner):
    """An ONBUILD trigger as Docker stores it in the image: the instruction, then each body."""
    return inner.original + "".join(f"\n{doc.content}{doc.name}" for doc in inner.heredocs)


# Pass 2: one instruction's grammar ---------------------------------------------------------


def _instruction(source, line, escape):
    """Parse the text of one instruction (continuations already joined) into an Instruction."""
    source = source.strip()
    name, rest = (source.split(None, 1) + [""])[:2]
    cmd = name.lower()
    if cmd not in _GRAMMARS:
        raise DockerfileSyntaxError(f"unknown instruction: {name}")
    flag_words, rest = _split_flags(rest, escape)
    instruction = Instruction(cmd=cmd, original=source, line=line, escape=escape,
                              flags=_parse_flags(cmd, flag_words))
    _GRAMMARS[cmd](instruction, rest)
    return instruction


def _split_flags(rest, escape):
    """Separate the leading ``--name=value`` words (quotes removed) from the arguments."""
    words = []
    while rest.startswith("--"):
        word, rest = _next_word(rest, escape)
        words.append(_unquote(word, escape)[0])
        rest = rest.lstrip()
    return words, rest


def _parse_flags(cmd, words):
    known, flags = FLAGS.get(cmd, {}), {}
    for word in words:
        name, has_value, value = word[2:].partition("=")
        kind = known.get(name)
        if kind is None:
            raise DockerfileSyntaxError(f"Unknown flag: {name}")
        if name in flags and kind is not list:
            raise DockerfileSyntaxError(f"Duplicate flag specified: {name}")
        if kind is bool:
            if has_value and value.lower() not in ("true", "false"):
                raise DockerfileSyntaxError(
                    f"Expecting boolean value for flag {name}, not: {value}" if value
                    else f"Missing a value on flag: {name}")
            flags[name] = not has_value or value.lower() == "true"
        elif not has_value:
            raise DockerfileSyntaxError(f"Missing a value on flag: {name}")
        elif kind is list:
            flags.setdefault(name, []).append(value)
        else:
            flags[name] = value
    return flags


def _next_word(text, escape):
    """Split off the first word of ``text`` (quotes and escapes kept): ``(word, rest)``."""
    text = text.lstrip()
    quote, i = None, 0
    while i < len(text) and (quote or not text[i].isspace()):
        char = text[i]
        if char == escape and quote != "'":
            i += 1
        elif quote is None and char in "'\"":
            quote = char
        elif char == quote:
            quote = None
        i += 1
    return text[:i], text[i:]


def _words(text, escape):
    """The words of ``text``, split at unquoted blanks, quotes and escapes kept for later."""
    words = []
    while text.strip():
        word, text = _next_word(text, escape)
        words.append(word)
    return words


def _unquote(word, escape):
    """``word`` without its quotes and escape characters, and whether it had quotes."""
    out, quote, quoted, i = [], None, False, 0
    while i < len(word):
        char = word[i]
        if char == escape and quote != "'" and i + 1 < len(word):
            out.append(word[i + 1])
            i += 2
            continue
        if quote is None and char in "'\"":
            quote, quoted = char, True
        elif char == quote:
            quote = None
        else:
            out.append(char)
        i += 1
    return "".join(out), quoted


def _json_array(rest):
    """The strings of ``rest`` if it is a JSON array (exec form); None means shell form."""
    if not rest.startswith("["):
        return None
    try:
        value = json.loads(rest)
    except ValueError:
        return None
    if not all(isinstance(item, str) for item in value):
        raise DockerfileSyntaxError(
            "when using JSON array syntax, arrays must be comprised of strings only")
    return value


def _heredoc_word(word, escape):
    """The Heredoc (body not read yet) that a word like ``<<EOF``, ``<<-"EOF"`` opens, or None."""
    match = _HEREDOC.fullmatch(word)
    if not match or not match[3]:
        return None
    name, quoted = _unquote(match[3], escape)
    return Heredoc(name=name, expand=not quoted, chomp=match[2] == "-")


def _heredocs(rest, escape):
    return [doc for doc in (_heredoc_word(word, escape) for word in _words(rest, escape)) if doc]


def _at_least_one(instruction):
    return DockerfileSyntaxError(f"{instruction.cmd.upper()} requires at least one argument")


def _from(instruction, rest):
    words = rest.split()
    if not (len(words) == 1 or len(words) == 3 and words[1].lower() == "as"):
        raise DockerfileSyntaxError("FROM requires either one or three arguments")
    if len(words) == 3 and not _STAGE_NAME.fullmatch(words[2].lower()):
        raise DockerfileSyntaxError(f'invalid name for build stage: "{words[2]}", '
                                    "name can't start with a number or contain symbols")
    instruction.args = words


def _command(instruction, rest):
    """RUN, CMD, ENTRYPOINT: exec form, or shell form kept as one string (RUN may use heredocs)."""
    exec_form = _json_array(rest)
    if exec_form is not None:
        instruction.args, instruction.json = exec_form, True
    elif rest:
        instruction.args = [rest]
        if instruction.cmd == "run":
            instruction.heredocs = _heredocs(rest, instruction.escape)
    else:
        raise _at_least_one(instruction)


def _shell(instruction, rest):
    exec_form = _json_array(rest)
    if not rest or exec_form == []:
        raise _at_least_one(instruction)
    if exec_form is None:
        raise DockerfileSyntaxError("SHELL requires the arguments to be in JSON form")
    instruction.args, instruction.json = exec_form, True


def _copy(instruction, rest):
    """ADD and COPY: sources then destination, as JSON or words; a source may be a heredoc."""
    name = instruction.cmd.upper()
    exec_form = _json_array(rest)
    if exec_form is not None:
        instruction.args, instruction.json = exec_form, True
    else:
        instruction.args = rest.split()
        instruction.heredocs = _heredocs(rest, instruction.escape)
    if len(instruction.args) < 2:
        raise DockerfileSyntaxError(f"{name} requires at least two arguments, but only one was "
                                    "provided. Destination could not be determined")
    if not instruction.json and _heredoc_word(instruction.args[-1], instruction.escape):
        raise DockerfileSyntaxError(f"{name} cannot accept a heredoc as a destination")


def _volume(instruction, rest):
    exec_form = _json_array(rest)
    instruction.json = exec_form is not None
    instruction.args = exec_form if instruction.json else rest.split()
    if not instruction.args:
        raise _at_least_one(instruction)
    if not all(path.strip() for path in instruction.args):
        raise DockerfileSyntaxError("VOLUME specified can not be an empty string")


def _words_needed(instruction, rest):
    """EXPOSE: one or more words."""
    instruction.args = rest.split()
    if not instruction.args:
        raise _at_least_one(instruction)


def _one_string(instruction, rest):
    """MAINTAINER, USER, WORKDIR, STOPSIGNAL: the whole rest of the line is the value."""
    if not rest:
        raise DockerfileSyntaxError(f"{instruction.cmd.upper()} requires exactly one argument")
    instruction.args = [rest]


def _key_values(instruction, rest):
    """ENV and LABEL: ``key value`` (the rest of the line is the value) or ``k=v k2="v 2" ...``."""
    name = instruction.cmd.upper()
    words = _words(rest, instruction.escape)
    if not words:
        raise _at_least_one(instruction)
    if "=" not in words[0]:
        pairs = rest.split(None, 1)
        if len(pairs) < 2:
            raise DockerfileSyntaxError(f"{name} must have two arguments")
    else:
        pairs = []
        for word in words:
            if "=" not in word:
                raise DockerfileSyntaxError(f"Syntax error - can't find = in {json.dumps(word)}. "
                                            "Must be of the form: name=value")
            pairs.extend(word.split("=", 1))
    if not all(pairs[::2]):
        raise DockerfileSyntaxError(f"{name} names can not be blank")
    instruction.args = pairs


def _arg(instruction, rest):
    """ARG: one or more ``name`` or ``name=default`` words."""
    instruction.args = _words(rest, instruction.escape)
    if not instruction.args:
        raise _at_least_one(instruction)
    if any(word.startswith("=") for word in instruction.args):
        raise DockerfileSyntaxError("ARG names can not be blank")


def _healthcheck(instruction, rest):
    """HEALTHCHECK NONE, or HEALTHCHECK [options] CMD followed by exec or shell form."""
    if not rest:
        raise _at_least_one(instruction)
    kind, command = (rest.split(None, 1) + [""])[:2]
    kind = kind.upper()
    if kind == "NONE":
        if command:
            raise DockerfileSyntaxError("HEALTHCHECK NONE takes no arguments")
        instruction.args = ["NONE"]
        return
    if kind != "CMD":
        raise DockerfileSyntaxError(f'Unknown type "{kind}" in HEALTHCHECK (try CMD)')
    exec_form = _json_array(command)
    instruction.json = exec_form is not None
    instruction.args = ["CMD", *(exec_form if instruction.json else [command] if command else [])]
    if len(instruction.args) == 1:
        raise DockerfileSyntaxError("Missing command after HEALTHCHECK CMD")
    parse_healthcheck(instruction)  # check the times and retries now, while the line is known


def _onbuild(instruction, rest):
    """ONBUILD <instruction>: any instruction but ONBUILD, FROM and MAINTAINER."""
    if not rest:
        raise _at_least_one(instruction)
    trigger = rest.split(None, 1)[0].upper()
    if trigger == "ONBUILD":
        raise DockerfileSyntaxError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger in ("FROM", "MAINTAINER"):
        raise DockerfileSyntaxError(f"{trigger} isn't allowed as an ONBUILD trigger")
    instruction.inner = _instruction(rest, instruction.line, instruction.escape)
    instruction.args = [rest]


_GRAMMARS = {
    "from": _from, "maintainer": _one_string, "run": _command, "cmd": _command,
    "entrypoint": _command, "expose": _words_needed, "env": _key_values, "arg": _arg,
    "label": _key_values, "add": _copy, "copy": _copy, "volume": _volume, "workdir": _one_string,
    "user": _one_string, "onbuild": _onbuild, "healthcheck": _healthcheck,
    "stopsignal": _one_string, "shell": _shell,
}
