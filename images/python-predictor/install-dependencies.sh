#!/usr/bin/env bash
# Installs a project's dependencies into the image, in Cortex's order: the shell script, then conda
# packages, then pip requirements. The file names come from the predictor's `dependencies` (build
# args, see Dockerfile); a file that is not there is skipped.
set -euo pipefail
cd "${CORTEX_PROJECT_DIR:-/opt/cortex/project}"

shell_script="${CORTEX_SHELL_DEPENDENCIES:-dependencies.sh}"
conda_packages="${CORTEX_CONDA_PACKAGES:-conda-packages.txt}"
pip_requirements="${CORTEX_PIP_REQUIREMENTS:-requirements.txt}"

# The project's .env over the environment first, as Cortex sourced it before installing (a PIP_EXTRA_INDEX_URL
# set there reaches pip), read as the runtime reads it at start: a line it cannot read stops the build, named.
if [ -e .env ]; then
  env_exports=$(python -m cortex_runtime.env_file .)
  eval "$env_exports"
fi

if [ -f "$shell_script" ]; then
  echo "cortex-cdk: running $shell_script"
  bash "$shell_script"
fi
if [ -f "$conda_packages" ]; then
  if ! command -v conda >/dev/null; then
    # Refuse rather than skip: the predictor would fail at start on a missing package.
    echo "cortex-cdk: $conda_packages: this image has no conda; move the packages to $pip_requirements (pip) or install them in $shell_script" >&2
    exit 1
  fi
  conda install -y --file "$conda_packages"
fi
if [ -f "$pip_requirements" ]; then
  echo "cortex-cdk: installing $pip_requirements"
  python -m pip install -c /opt/cortex/runtime/constraints.txt -r "$pip_requirements"
fi
# A cortex-cdk addition to Cortex's order: the project's own build step, once its packages are installed
# (e.g. training a small model into the image, as examples/iris-classifier does).
if [ -f build.sh ]; then
  echo "cortex-cdk: running build.sh"
  bash build.sh
fi
