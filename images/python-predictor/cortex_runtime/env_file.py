"""The project's ``.env`` file: its variables, put into the runtime's environment at start.

Cortex v0.30 ran ``set -a; source /mnt/project/.env; set +a`` in bash right before starting its server, so the
file's variables overrode the container's own (``predictor.env`` included), and a line could use the variables
before it. The runtime reads the file itself rather than running it: the subset of bash such files hold, with
bash's meaning, and anything else refused with its file and line (a file that bash would run differently, or
that would run commands, is a mistake to show, not to guess at):

- ``NAME=VALUE`` or ``export NAME=VALUE``; NAME of letters, digits and ``_``, not starting with a digit; no
  space around ``=``; names starting with ``CORTEX_`` are the runtime's own and refused;
- VALUE unquoted (up to a space, a tab or the end of the line; ``\\`` escapes the next character), in
  ``'single quotes'`` (as written), in ``"double quotes"`` (``\\"``, ``\\\\``, ``\\$`` and ``\\``` escaped), or
  pieces of these one after the other; quotes may span lines;
- ``$NAME`` and ``${NAME}`` expand (unquoted or in double quotes) to the environment's value, or an earlier
  line's, or nothing;
- blank lines and ``#`` comments (a whole line, or after a value and a space); CRLF line ends read as LF.

Refused: command substitution (``$(...)``, backquotes), other expansions (``${NAME:-x}``, ``$1``, ``$?``...), an
unquoted ``;``, ``&``, ``|``, ``<``, ``>``, ``(``, ``)`` or leading ``~``, two words after ``=``, and NUL characters.
"""

import os
import re
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Tuple

ENV_FILE_NAME = ".env"
#: Variables the runtime and cortex-cdk set themselves (CORTEX_HOST, CORTEX_PREDICTOR_CONFIG...).
RESERVED_PREFIX = "CORTEX_"
#: The runtime's settings a project may set, and cortex.client()'s key (cortex-cdk's lib/config/env.ts keeps the same list for predictor.env).
USER_SETTINGS = ("CORTEX_API_KEY", "CORTEX_MAX_BODY_SIZE", "CORTEX_MODEL_CACHE_DIR", "CORTEX_NEURON_CORES_PER_DEVICE", "CORTEX_STUCK_GRACE")
ALLOWED = (
    "a line is NAME=VALUE or export NAME=VALUE (NAME: letters, digits, _, not starting with a digit or CORTEX_ but for the runtime's settings; "
    "VALUE: unquoted, 'single-quoted' or \"double-quoted\", with $NAME or ${NAME} expanded), "
    "a # comment or blank"
)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPECIAL_PARAMETERS = "0123456789?!#@*$-"
_UNQUOTED_OPERATORS = ";&|<>()"


class EnvFileError(ValueError):
    """The .env file cannot be read or holds lines the runtime does not read: every problem, one per line."""

    def __init__(self, problems: List[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class EnvFile:
    path: str
    #: The variables in file order (a name set twice: its last value, at its first place).
    variables: Tuple[Tuple[str, str], ...]


class _LineError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _UnclosedQuote(_LineError):
    pass


class _Parser:
    def __init__(self, text: str, environ: Mapping[str, str]) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.env: Dict[str, str] = dict(environ)
        self.assigned: Dict[str, str] = {}

    # -- characters

    def peek(self, offset: int = 0) -> str:
        i = self.pos + offset
        return self.text[i] if i < len(self.text) else ""

    def take(self) -> str:
        c = self.text[self.pos]
        self.pos += 1
        if c == "\n":
            self.line += 1
        return c

    def skip_blanks(self) -> None:
        while self.peek() in (" ", "\t") and self.pos < len(self.text):
            self.pos += 1

    def rest_of_line(self, start: int) -> str:
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end]

    def skip_line(self) -> None:
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end + 1
        self.line += 1 if end >= 0 else 0

    # -- statements

    def parse(self) -> List[Tuple[int, str]]:
        problems: List[Tuple[int, str]] = []
        while self.pos < len(self.text):
            start = self.pos
            try:
                self.statement()
            except _UnclosedQuote as e:
                # Everything after it is inside the quote, as bash reads it: nothing more to say.
                problems.append((e.line, e.message))
                break
            except _LineError as e:
                problems.append((e.line, e.message))
                # Go on at the next line, so that one run lists every problem.
                if self.pos == start or self.text[self.pos - 1] != "\n":
                    self.skip_line()
        return problems

    def statement(self) -> None:
        line_start = self.pos
        self.skip_blanks()
        if self.peek() in ("\n", "#", ""):
            self.skip_line()
            return
        line = self.line
        match = _NAME.match(self.text, self.pos)
        if match and match.group() == "export" and self.peek(6) in (" ", "\t") and self.peek(6) != "":
            self.pos = match.end()
            self.skip_blanks()
            match = _NAME.match(self.text, self.pos)
        if match is None or self.text[match.end():match.end() + 1] != "=":
            if match is not None and re.match(r"[ \t]+=", self.text[match.end():match.end() + 64]):
                raise _LineError(line, f"a space before the = of {match.group()}: write {match.group()}=VALUE")
            raise _LineError(line, f"expected NAME=VALUE, got {_show(self.rest_of_line(line_start).strip())}")
        name = match.group()
        if name.startswith(RESERVED_PREFIX) and name not in USER_SETTINGS:
            raise _LineError(line, f"{name}: names starting with {RESERVED_PREFIX} are reserved for the runtime's "
                                   f"own settings (CORTEX_HOST, CORTEX_PREDICTOR_CONFIG...), except "
                                   f"{', '.join(USER_SETTINGS)}; rename it")
        self.pos = match.end() + 1
        value = self.value(name)
        self.skip_blanks()
        if self.peek() in ("\n", "#", ""):
            self.skip_line()
        else:
            raise _LineError(self.line, f"{name}: more than one word after the =, at "
                                        f"{_show(self.rest_of_line(self.pos))}: quote the value ({name}=\"... ...\")")
        if "\0" in value:
            raise _LineError(line, f"{name}: a NUL character, which no environment variable can hold")
        self.env[name] = value
        self.assigned[name] = value

    # -- values

    def value(self, name: str) -> str:
        parts: List[str] = []
        first = True
        while True:
            c = self.peek()
            if c in ("", "\n", " ", "\t"):
                return "".join(parts)
            if c == "'":
                parts.append(self.single_quoted())
            elif c == '"':
                parts.append(self.double_quoted(name))
            elif c == "\\":
                self.take()
                escaped = self.peek()
                if escaped == "":
                    parts.append("\\")
                elif escaped == "\n":
                    self.take()  # a line continuation
                else:
                    parts.append(self.take())
            elif c == "$":
                parts.append(self.expansion(name))
            elif c == "`":
                raise _LineError(self.line, f"{name}: command substitution (`...`) is not supported: the runtime "
                                            f"reads .env, it does not run it")
            elif c in _UNQUOTED_OPERATORS:
                raise _LineError(self.line, f"{name}: an unquoted {c!r}, which bash would not read as part of the "
                                            f"value: quote the value ({name}='...')")
            elif c == "~" and first:
                raise _LineError(self.line, f"{name}: a leading unquoted ~ (bash's home directory): write $HOME, or "
                                            f"quote it ({name}='~...') for a literal ~")
            else:
                parts.append(self.take())
            first = False

    def single_quoted(self) -> str:
        line = self.line
        self.take()
        end = self.text.find("'", self.pos)
        if end < 0:
            raise _UnclosedQuote(line, "a ' that is never closed")
        piece = self.text[self.pos:end]
        while self.pos <= end:
            self.take()
        return piece

    def double_quoted(self, name: str) -> str:
        line = self.line
        self.take()
        parts: List[str] = []
        while True:
            c = self.peek()
            if c == "":
                raise _UnclosedQuote(line, 'a " that is never closed')
            if c == '"':
                self.take()
                return "".join(parts)
            if c == "\\":
                self.take()
                escaped = self.peek()
                if escaped in ('"', "\\", "$", "`"):
                    parts.append(self.take())
                elif escaped == "\n":
                    self.take()
                else:
                    parts.append("\\")
            elif c == "$":
                parts.append(self.expansion(name))
            elif c == "`":
                raise _LineError(self.line, f"{name}: command substitution (`...`) is not supported: the runtime "
                                            f"reads .env, it does not run it")
            else:
                parts.append(self.take())

    def expansion(self, name: str) -> str:
        self.take()  # $
        c = self.peek()
        if c == "(":
            raise _LineError(self.line, f"{name}: command substitution ($(...)) is not supported: the runtime reads "
                                        f".env, it does not run it")
        if c == "{":
            match = re.match(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", self.text[self.pos:])
            if match is None:
                shown = self.rest_of_line(self.pos - 1)
                raise _LineError(self.line, f"{name}: {_show(shown)}: only ${{NAME}} and $NAME are expanded "
                                            f"(no defaults, lengths or substitutions)")
            self.pos += match.end()
            return self.env.get(match.group(1), "")
        if c in ("'", '"'):
            raise _LineError(self.line, f"{name}: ${c}...{c} quoting is not supported: use plain quotes")
        if c != "" and c in _SPECIAL_PARAMETERS:
            raise _LineError(self.line, f"{name}: ${c} (a shell parameter) is not supported: only $NAME and "
                                        f"${{NAME}} are expanded")
        match = _NAME.match(self.text, self.pos)
        if match is None:
            return "$"  # as bash: a $ before anything else is itself
        self.pos = match.end()
        return self.env.get(match.group(), "")


def _show(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def parse_env_file(text: str, path: str, environ: Mapping[str, str]) -> EnvFile:
    """The variables ``text`` sets, expanded against ``environ``; raises EnvFileError listing every problem."""
    parser = _Parser(text.replace("\r\n", "\n"), environ)
    problems = parser.parse()
    if problems:
        raise EnvFileError([f"{path}:{line}: {message}" for line, message in problems] + [f"allowed in {ENV_FILE_NAME}: {ALLOWED}"])
    return EnvFile(path, tuple(parser.assigned.items()))


def read_env_file(project_dir: str, environ: Mapping[str, str]) -> Optional[EnvFile]:
    """The project's .env, parsed; None when there is none."""
    path = os.path.join(project_dir, ENV_FILE_NAME)
    if not os.path.lexists(path):
        return None
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise EnvFileError([f"{path}: cannot read it ({e.strerror or e})"]) from e
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise EnvFileError([f"{path}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x}); save the file as UTF-8"]) from e
    if text.startswith("\ufeff"):
        text = text[1:]
    return parse_env_file(text, path, environ)


def main(argv: List[str]) -> int:
    """``python -m cortex_runtime.env_file PROJECT_DIR``: the project's .env as ``export NAME='value'`` lines.

    The image build (install-dependencies.sh) evaluates them before it installs the project's dependencies, as
    Cortex sourced the file then (a ``PIP_EXTRA_INDEX_URL`` set there reaches pip), read the way the runtime
    reads it at start. Prints nothing without a .env; exit 2 naming every bad line.
    """
    import shlex
    import sys

    if len(argv) != 1:
        print("usage: python -m cortex_runtime.env_file PROJECT_DIR", file=sys.stderr)
        return 2
    try:
        env_file = read_env_file(argv[0], os.environ)
    except EnvFileError as e:
        print(str(e), file=sys.stderr)
        return 2
    for name, value in env_file.variables if env_file else ():
        print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
