#!/usr/bin/env bash
# mypy --strict over the package as it is imported (pulumi_kubevirt.*): the
# folders are mapped under the import name by pyproject, so give mypy the same
# view through a symlink tree.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
M=$ROOT/.mypy-src/pulumi_kubevirt
mkdir -p "$M"
ln -sfn "$ROOT/provider" "$M/provider"
ln -sfn "$ROOT/components" "$M/components"
ln -sfn "$ROOT/tests" "$ROOT/.mypy-src/tests"
cd "$ROOT/.mypy-src"
mypy --config-file "$ROOT/pyproject.toml" -p pulumi_kubevirt.provider -p pulumi_kubevirt.components
# The test harness and support code are held to the same strict bar (they decide what a green tier means).
exec mypy --config-file "$ROOT/pyproject.toml" -p tests.harness -p tests.support
