"""The streams a ``%docker`` command writes to: into the running cell, as the output comes.

The CLI writes text with ``stream.write(text)`` and a container's raw output with
``stream.buffer.write(bytes)`` (see :meth:`pydock_edu.cli.main.Context.write_stream`).
:class:`CellStream` passes both on to the kernel's ``sys.stdout`` or ``sys.stderr`` and flushes at
once, so ``logs -f`` appears line by line and stdout and stderr stay in the order they were
written. :class:`Capture` keeps the text instead, for commands whose output is a value.
"""

import codecs


class _Bytes:
    """The ``buffer`` side of a text stream: bytes decoded as UTF-8, a split character kept for later."""

    def __init__(self, text_stream):
        self.text_stream = text_stream
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def write(self, data):
        text = self.decoder.decode(data)
        if text:
            self.text_stream.write(text)
        return len(data)

    def flush(self):
        self.text_stream.flush()


class CellStream:
    """Text written here appears in the cell at once (the kernel's stream, flushed on every write).

    ``hold_errors``: a write that starts with ``Error: `` (the CLI's one-line error message) is held
    back until more output follows or the command ends, so that the magic can show it as the
    cell's error instead of printing it twice. ``lines``, if given, is called with every complete
    line and returns False for a line that must not be printed (a progress bar drawn elsewhere).
    """

    def __init__(self, target, hold_errors=False, lines=None):
        self.target = target
        self.hold_errors = hold_errors
        self.held = []
        self.lines = lines
        self.partial = ""
        self.buffer = _Bytes(self)

    def write(self, text):
        if self.hold_errors and text.startswith("Error: "):
            self.held.append(text)
            return len(text)
        self.release()
        if self.lines is None:
            self._show(text)
        else:
            self._by_line(text)
        return len(text)

    def _by_line(self, text):
        *complete, self.partial = (self.partial + text.replace("\r\n", "\n").replace("\r", "\n")).split("\n")
        shown = "".join(line + "\n" for line in complete if self.lines(line) is not False)
        if shown:
            self._show(shown)

    def _show(self, text):
        self.target.write(text)
        self.target.flush()

    def release(self):
        """Print the held error lines (more output came after them, or nobody raised them)."""
        held, self.held = self.held, []
        if held:
            self._show("".join(held))

    def take_held(self):
        """The held error lines, removed from the stream: they become the cell's error message."""
        held, self.held = self.held, []
        return "".join(held).splitlines()

    def close(self):
        """The command has ended: print an unfinished last line."""
        if self.partial:
            text, self.partial = self.partial, ""
            if self.lines is None or self.lines(text) is not False:
                self._show(text)

    def flush(self):
        self.target.flush()


class LastLine(CellStream):
    """Shows every line but the last, which is the command's value (``run -d`` prints the ID last,
    after the progress of a pull it may have needed)."""

    def __init__(self, target):
        super().__init__(target, lines=self._hold)
        self.last = None

    def _hold(self, line):
        if self.last is not None:
            self._show(self.last + "\n")
        self.last = line
        return False

    def getvalue(self):
        return self.last or ""


class Capture:
    """Output kept as a value (``run -d`` prints an ID; ``ps`` a table) instead of shown."""

    def __init__(self):
        self.parts = []
        self.buffer = _Bytes(self)

    def write(self, text):
        self.parts.append(text)
        return len(text)

    def flush(self):
        pass

    def close(self):
        pass

    def getvalue(self):
        return "".join(self.parts)
