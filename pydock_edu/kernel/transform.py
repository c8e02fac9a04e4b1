"""Command lines in Python cells: ``docker run --rm busybox echo hi`` becomes ``%docker --show run ...``.

IPython turns a cell into Python in steps; one of them looks at the cell's tokens, a logical line at
a time, so text inside strings and comments is never touched. :class:`CommandLine` is such a token
transformer: a logical line whose first word is ``docker`` or ``pydock`` followed by a space and a
word (or a ``-flag``) is a command line. ``docker = 1``, ``docker.ps()`` or ``docker in names``
stay Python. ``--show`` displays the command's result where the line is, as a terminal prints it.
"""

import keyword
import tokenize

from IPython.core.inputtransformer2 import TokenTransformBase, assemble_continued_line, find_end_of_continued_line

COMMAND_WORDS = ("docker", "pydock")


def _starts_arguments(first, second, third):
    """Whether the token after ``docker`` begins a command's arguments (``run``, ``-v``, ``--explain``)."""
    if second.start[0] != first.end[0] or second.start[1] == first.end[1]:
        return False  # not separated by a space on the same line: docker.ps, docker(...)
    if second.type == tokenize.NAME:
        return not keyword.iskeyword(second.string)
    return second.string in ("-", "--") and third is not None and third.start == second.end


class CommandLine(TokenTransformBase):
    """IPython token transformer for lines that are pydock or docker command lines."""

    @classmethod
    def find(cls, tokens_by_line):
        for line in tokens_by_line:
            words = [t for t in line if t.type not in (tokenize.INDENT, tokenize.DEDENT)]
            if (len(words) >= 2 and words[0].type == tokenize.NAME and words[0].string in COMMAND_WORDS
                    and _starts_arguments(words[0], words[1], words[2] if len(words) > 2 else None)):
                return cls(words[0].start)
        return None

    def transform(self, lines):
        start_line, start_col = self.start_line, self.start_col
        end_line = find_end_of_continued_line(lines, start_line)
        command = assemble_continued_line(lines, (start_line, start_col), end_line)
        arguments = command.split(None, 1)[1]
        indent = lines[start_line][:start_col]
        return lines[:start_line] + [f"{indent}%docker --show {arguments}\n"] + lines[end_line + 1:]
