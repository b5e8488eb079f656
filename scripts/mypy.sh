#!/usr/bin/env bash
# mypy --strict over the package as it is imported (pulumi_kubevirt.*): the
# folders are mapped under the import name by pyproject, so give mypy the same
# view through a symlink tree. Then the test harness, and the programs: the
# examples and the root stack, each against both adapters (see examples/_target.py).
#
#   scripts/mypy.sh                  everything (`make lint`)
#   scripts/mypy.sh --examples DIR   only the programs DIR/*/__main__.py (beside DIR/_target.py)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
EXAMPLES=$ROOT/examples
[[ ${1:-} == --examples ]] && EXAMPLES=$(cd "$2" && pwd)
S=$ROOT/.mypy-src
M=$S/pulumi_kubevirt
mkdir -p "$M"
ln -sfn "$ROOT/provider" "$M/provider"
ln -sfn "$ROOT/components" "$M/components"
ln -sfn "$ROOT/sdk" "$M/sdk"
ln -sfn "$ROOT/tests" "$S/tests"
cd "$S"
LINKS=$(mktemp -d)
trap 'rm -rf "$LINKS"' EXIT

# check_programs DIR PROGRAM...: a program is a `__main__.py` in a folder whose name is no module
# name (and mypy takes one `__main__` per run), so mypy reads each through a link named after its
# folder, beside DIR/_target.py; the messages are mapped back to the real files. Twice, each with
# its own cache (mypy drops a cache made with other options): against the dynamic resources, then
# against the plugin's SDK. The mapping matches a link by its name in any folder: mypy replays the
# errors of an unchanged module from its cache with the path of the run that found them (an
# earlier run's temporary folder).
check_programs() {
    local dir=$1 program name adapter flag rc=0
    shift
    local files=() rename=()
    [[ -f $dir/_target.py ]] && ln -sfn "$dir/_target.py" "$LINKS/_target.py"
    for program in "$@"; do
        name=$(basename "$(dirname "$program")")
        [[ $program == "$ROOT/__main__.py" ]] && name=root-stack
        name=program_${name//[^A-Za-z0-9_]/_}
        ln -sfn "$program" "$LINKS/$name.py"
        files+=("$LINKS/$name.py")
        rename+=(-e "s|^[^:]*/$name\.py:|${program#"$ROOT"/}:|")
    done
    [[ -f $dir/_target.py ]] && rename+=(-e "s|^[^:]*/_target\.py:|${dir#"$ROOT"/}/_target.py:|")
    for adapter in dynamic plugin; do
        echo "mypy: programs against the $adapter adapter"
        [[ $adapter == plugin ]] && flag=--always-true || flag=--always-false
        MYPYPATH=$LINKS mypy --config-file "$ROOT/pyproject.toml" --cache-dir ".mypy_cache/programs-$adapter" \
            "$flag" PLUGIN_SDK "${files[@]}" | sed "${rename[@]}" || rc=1
    done
    return $rc
}

if [[ ${1:-} == --examples ]]; then
    check_programs "$EXAMPLES" "$EXAMPLES"/*/__main__.py
    exit
fi

mypy --config-file "$ROOT/pyproject.toml" -p pulumi_kubevirt.provider -p pulumi_kubevirt.components
# The test harness and support code are held to the same strict bar (they decide what a green tier means).
mypy --config-file "$ROOT/pyproject.toml" -p tests.harness -p tests.support
check_programs "$EXAMPLES" "$EXAMPLES"/*/__main__.py "$ROOT/__main__.py"
