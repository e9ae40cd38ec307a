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
