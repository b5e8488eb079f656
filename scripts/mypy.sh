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
cd "$ROOT/.mypy-src"
exec mypy --config-file "$ROOT/pyproject.toml" -p pulumi_kubevirt.provider -p pulumi_kubevirt.components
