"""What ``%docker`` gives back to Python: IDs as text, list tables, and errors without tracebacks."""

import html
import re


class Text(str):
    """Output that is a value, such as the ID ``run -d`` prints: a ``str`` shown without quotes."""

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))


class Table:
    """The output of a list command (``ps``, ``images``, ...): the CLI's text and its rows.

    ``text/plain`` is exactly what the CLI printed; ``text/html`` is the same table in HTML.
    ``rows`` are dicts keyed by column title, so ``[r["NAMES"] for r in %docker ps]`` works.
    """

    def __init__(self, text):
        self.text = text
        self.columns, self.rows = parse_table(text)

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, index):
        return self.rows[index]

    def _repr_mimebundle_(self, include=None, exclude=None):
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(row[c])}</td>" for c in self.columns) + "</tr>"
                       for row in self.rows)
        return {"text/plain": self.text,
                "text/html": f'<table class="pydock-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'}


_HEADER_CELL = re.compile(r"\S+(?: \S+)*")  # a title may hold single spaces ("CONTAINER ID")


def parse_table(text):
    """Columns and rows of an aligned table: every cell starts where its column's title starts."""
    lines = text.splitlines()
    if not lines:
        return [], []
    titles = list(_HEADER_CELL.finditer(lines[0]))
    columns = [m.group() for m in titles]
    starts = [m.start() for m in titles] + [None]
    rows = [{column: line[starts[i]:starts[i + 1]].strip() for i, column in enumerate(columns)}
            for line in lines[1:] if line.strip()]
    return columns, rows


class CommandFailed(Exception):
    """A ``%docker`` command exited with a nonzero code.

    IPython shows an exception through its ``_render_traceback_`` when it has one: here that is
    the command's own message (``Error: No such container: web``), not a Python traceback.
    """

    def __init__(self, argv, exit_code, lines):
        self.argv, self.exit_code = argv, exit_code
        self.lines = lines or [f"exit status {exit_code}"]
        super().__init__("\n".join(self.lines))

    def _render_traceback_(self):
        return list(self.lines)


class CommandInterrupted(KeyboardInterrupt):
    """The cell was interrupted while a ``%docker`` command ran; what it had started was stopped."""

    def __init__(self, stopped):
        self.stopped = stopped
        done = f": stopped {', '.join(c[:12] for c in stopped)}" if stopped else ""
        super().__init__("Interrupted" + done)

    def _render_traceback_(self):
        return [str(self)]
