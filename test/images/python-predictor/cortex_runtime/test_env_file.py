"""env_file.py: the project's .env, read as bash's ``set -a; source .env`` would (Cortex v0.30), or refused by line."""

import os

import httpx
import pytest
from harness import WAIT, settings

from cortex_runtime.env_file import EnvFileError, parse_env_file, read_env_file


def parse(text, environ=None):
    return dict(parse_env_file(text, "p/.env", environ or {}).variables)


def problems(text):
    with pytest.raises(EnvFileError) as caught:
        parse_env_file(text, "p/.env", {})
    return caught.value.problems


class TestWhatBashWouldRead:
    def test_assignments_exports_comments_and_blank_lines(self):
        assert parse("# a comment\n\nA=1\nexport B=2\n  C=3  # after a value\n\tD=\n") == {"A": "1", "B": "2", "C": "3", "D": ""}

    def test_quotes_single_as_written_double_with_escapes_and_pieces_joined(self):
        text = "A='$HOME \"x\"'\nB=\"a \\\" \\\\ \\$HOME \\n\"\nC=a'b c'\"d\"\nD=un\\ quoted\nE=x#y\n"
        assert parse(text, {"HOME": "/root"}) == {
            "A": '$HOME "x"', "B": 'a " \\ $HOME \\n', "C": "ab cd", "D": "un quoted", "E": "x#y"}

    def test_expansion_of_the_environment_and_earlier_lines_unset_is_empty(self):
        text = "PATH=$PATH:/opt/bin\nA=${PATH}/x\nB=\"$NOPE-$A\"\nC=cost$\nD=$/\n"
        assert parse(text, {"PATH": "/bin"}) == {
            "PATH": "/bin:/opt/bin", "A": "/bin:/opt/bin/x", "B": "-/bin:/opt/bin/x", "C": "cost$", "D": "$/"}

    def test_quoted_values_span_lines_and_a_backslash_newline_continues(self):
        assert parse('KEY="line 1\nline 2"\nB=a\\\nb\nC=after\n') == {"KEY": "line 1\nline 2", "B": "ab", "C": "after"}

    def test_crlf_line_ends_and_a_utf8_bom(self, tmp_path):
        (tmp_path / ".env").write_bytes(b"\xef\xbb\xbfA=1\r\nB='x'\r\n")
        assert dict(read_env_file(str(tmp_path), {}).variables) == {"A": "1", "B": "x"}

    def test_the_runtime_settings_an_api_may_set_are_not_reserved(self):
        assert parse("CORTEX_MAX_BODY_SIZE=1Mi\nCORTEX_STUCK_GRACE=60\n") == {
            "CORTEX_MAX_BODY_SIZE": "1Mi", "CORTEX_STUCK_GRACE": "60"}

    def test_a_name_set_twice_keeps_its_last_value(self):
        assert parse("A=1\nB=$A\nA=2\n") == {"A": "2", "B": "1"}

    def test_no_file_is_none(self, tmp_path):
        assert read_env_file(str(tmp_path), {}) is None


class TestRefusedByLine:
    @pytest.mark.parametrize("line, message", [
        ("A = 1", "p/.env:2: a space before the = of A: write A=VALUE"),
        ("A=foo bar", "p/.env:2: A: more than one word after the =, at 'bar': quote the value"),
        ("my-var=1", "p/.env:2: expected NAME=VALUE, got 'my-var=1'"),
        ("1A=x", "p/.env:2: expected NAME=VALUE, got '1A=x'"),
        ("export", "p/.env:2: expected NAME=VALUE, got 'export'"),
        ("export A", "p/.env:2: expected NAME=VALUE, got 'export A'"),
        ("CORTEX_HOST=0.0.0.0", "p/.env:2: CORTEX_HOST: names starting with CORTEX_ are reserved"),
        ("A=$(id)", "p/.env:2: A: command substitution ($(...)) is not supported"),
        ("A=`id`", "p/.env:2: A: command substitution (`...`) is not supported"),
        ('A="`id`"', "p/.env:2: A: command substitution (`...`) is not supported"),
        ("A=${B:-x}", "p/.env:2: A: '${B:-x}': only ${NAME} and $NAME are expanded"),
        ("A=$1", "p/.env:2: A: $1 (a shell parameter) is not supported"),
        ("A=$'x\\n'", "p/.env:2: A: $'...' quoting is not supported"),
        ("A=a;b", "p/.env:2: A: an unquoted ';'"),
        ("A=a|b", "p/.env:2: A: an unquoted '|'"),
        ("A=~/x", "p/.env:2: A: a leading unquoted ~"),
    ])
    def test_a_line_bash_would_read_otherwise_is_named_with_its_line(self, line, message):
        found = problems(f"OK=1\n{line}\nALSO_OK=2\n")
        assert found[0].startswith(message), found
        assert len(found) == 2 and found[1].startswith("allowed in .env: a line is NAME=VALUE")

    def test_every_bad_line_is_listed_and_an_unclosed_quote_ends_the_list(self):
        found = problems("A = 1\nB=ok\nC=x y\nD=\"open\nE=1\nF = 2\n")
        assert [p.split(": ")[0] for p in found[:-1]] == ["p/.env:1", "p/.env:3", "p/.env:4"]
        assert found[2] == 'p/.env:4: a " that is never closed'

    def test_a_nul_character(self):
        assert problems("A=a\0b\n")[0] == "p/.env:1: A: a NUL character, which no environment variable can hold"

    def test_not_utf8_names_the_line(self, tmp_path):
        (tmp_path / ".env").write_bytes(b"A=1\nB=\xff\n")
        with pytest.raises(EnvFileError, match=r"\.env:2: not UTF-8 text \(byte 0xff\)"):
            read_env_file(str(tmp_path), {})

    def test_unreadable_names_the_file(self, tmp_path):
        (tmp_path / ".env").mkdir()
        with pytest.raises(EnvFileError, match=r"\.env: cannot read it"):
            read_env_file(str(tmp_path), {})


READS_ITS_ENVIRONMENT = """
    import os
    import helper_from_pythonpath

    class PythonPredictor:
        def __init__(self, config):
            self.pid = os.getpid()

        def predict(self, payload):
            return {"pid": self.pid, "helper": helper_from_pythonpath.VALUE, "A": os.environ.get("A"),
                    "applied": os.environ.get("CORTEX_ENV_FILE_APPLIED")}
"""


class TestTheRuntimeStart:
    def test_the_runtime_restarts_itself_with_the_dotenv_so_pythonpath_from_it_counts(self, run_runtime, tmp_path):
        # GIVEN a .env that sets PYTHONPATH (read by the interpreter at its start) to a folder of the project
        files = {"lib/helper_from_pythonpath.py": "VALUE = 'imported'\n", ".env": "A=from-dotenv\nPYTHONPATH=lib\n"}
        runtime = run_runtime(READS_ITS_ENVIRONMENT, settings(), files=files)
        url = runtime.wait_ready()

        # THEN the predictor imports from it; the process kept its PID (exec), the file was applied once
        body = httpx.post(url + "/", json={}, timeout=WAIT).json()
        assert body["helper"] == "imported" and body["A"] == "from-dotenv"
        assert body["pid"] == runtime.proc.pid
        assert body["applied"] == os.path.join(str(tmp_path / "project"), ".env")
        assert runtime.log.count("2 variable(s) from ") == 1

    def test_with_several_processes_every_worker_has_the_variables(self, run_runtime):
        source = """
            import os

            class PythonPredictor:
                def predict(self, payload):
                    return [os.getpid(), os.environ.get("A")]
        """
        runtime = run_runtime(source, settings(processes_per_replica=2), files={".env": "A=1\n"})
        url = runtime.wait_ready()
        answers = {tuple(httpx.post(url + "/", json={}, timeout=WAIT).json()) for _ in range(20)}
        assert {a for _, a in answers} == {"1"}
