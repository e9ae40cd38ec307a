"""images/python-predictor/install-dependencies.sh, as the image build runs it, on a project of our own."""

import os
import subprocess

from harness import ROOT

SCRIPT = ROOT / "images" / "python-predictor" / "install-dependencies.sh"


def run(project, **env):
    return subprocess.run(
        ["bash", str(SCRIPT)],
        env={**os.environ, "CORTEX_PROJECT_DIR": str(project), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_runs_the_shell_script_first_and_build_sh_last(tmp_path):
    # GIVEN a project with a dependencies.sh and a build.sh, each appending to a log
    (tmp_path / "dependencies.sh").write_text("echo dependencies >> order.log\n")
    (tmp_path / "build.sh").write_text("echo build >> order.log\n")
    # WHEN the image build runs the script
    result = run(tmp_path)
    # THEN both ran, in Cortex's order with build.sh after everything else
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "order.log").read_text().split() == ["dependencies", "build"]


def test_a_project_without_any_file_is_fine(tmp_path):
    assert run(tmp_path).returncode == 0


def test_conda_packages_without_conda_stop_the_build_with_a_clear_message(tmp_path):
    (tmp_path / "conda-packages.txt").write_text("numpy\n")
    result = run(tmp_path, PATH="/usr/bin:/bin")
    assert result.returncode == 1
    assert "conda-packages.txt: this image has no conda" in result.stderr


def test_a_failing_build_sh_fails_the_build(tmp_path):
    (tmp_path / "build.sh").write_text("exit 3\n")
    assert run(tmp_path).returncode != 0


def with_runtime_python(tmp_path):
    """The image's `python` (the runtime importable): here Debian's python3 under that name."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to("/usr/bin/python3")
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "PYTHONPATH": str(ROOT / "images" / "python-predictor")}


def test_the_projects_dotenv_is_in_the_environment_of_every_step(tmp_path):
    # GIVEN a project whose .env sets a pip index and a quoted value, and a dependencies.sh and build.sh that print them
    project = tmp_path / "project"
    project.mkdir()
    (project / ".env").write_text("export PIP_EXTRA_INDEX_URL=https://pypi.example/simple\nGREETING='hello world'\n")
    (project / "dependencies.sh").write_text('echo "$PIP_EXTRA_INDEX_URL|$GREETING" >> seen.log\n')
    (project / "build.sh").write_text('echo "$PIP_EXTRA_INDEX_URL|$GREETING" >> seen.log\n')
    # WHEN the image build runs the script
    result = run(project, **with_runtime_python(tmp_path))
    # THEN every step saw the variables, as Cortex sourced the file before installing
    assert result.returncode == 0, result.stderr
    assert (project / "seen.log").read_text().splitlines() == ["https://pypi.example/simple|hello world"] * 2


def test_a_dotenv_the_runtime_would_refuse_stops_the_build_naming_the_line(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / ".env").write_text("A=1\nB=$(touch pwned)\n")
    (project / "dependencies.sh").write_text("touch ran\n")
    result = run(project, **with_runtime_python(tmp_path))
    assert result.returncode == 2
    assert "./.env:2: B: command substitution" in result.stderr
    assert not (project / "ran").exists() and not (project / "pwned").exists()
