#!/usr/bin/env bash
# The typed Python SDK of the plugin, generated from schema.json (`make sdk`; the
# committed copy is sdk/, checked by tests/unit/test_sdk.py).
#
#   scripts/gen-sdk.sh [OUTDIR]     (default: sdk/, import name pulumi_kubevirt.sdk)
#
# First `pulumi package gen-sdk schema.json --language python`. The CLI hands
# Python code generation to the `pulumi-language-python` plugin (GeneratePackage),
# and on this machine that plugin is a stand-in without code generation (the Go
# module of the real one is refused by the module proxy: scripts/versions.env),
# so the CLI fails with "Method not implemented!". Then the same generator the
# real plugin calls, pkg/v3/codegen/python.GeneratePackage at the CLI's pulumi
# version, run by scripts/gen-python-sdk (built once into $PKV_CACHE/bin, with
# the CLI build's go.mod: same module versions).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/sdk}
PKV_CACHE=${PKV_CACHE:-$HOME/.cache/pulumi-kubevirt}
BIN=$PKV_CACHE/bin
PACKAGE_DIR=pulumi_kubevirt.sdk # the schema's language.python.packageName, as codegen names its folder

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PULUMI_HOME=$tmp/home PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

if "$BIN/pulumi" package gen-sdk "$ROOT/schema.json" --language python --out "$tmp/cli" >"$tmp/cli.log" 2>&1 &&
    [ -d "$tmp/cli/python/$PACKAGE_DIR" ]; then
    src=$tmp/cli/python/$PACKAGE_DIR
else
    echo "gen-sdk: pulumi package gen-sdk failed ($(tail -1 "$tmp/cli.log")); using pkg/v3/codegen/python directly" >&2
    # shellcheck source=versions.env
    . "$ROOT/scripts/versions.env"
    gen=$BIN/gen-python-sdk-$PULUMI_VERSION # rebuilt when the pulumi version moves
    if [ ! -x "$gen" ] || [ "$ROOT/scripts/gen-python-sdk/main.go" -nt "$gen" ]; then
        wrapper=$PKV_CACHE/build/pulumi # the CLI's build module (scripts/build-go-tools.sh)
        grep -q "github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION" "$wrapper/go.mod" 2>/dev/null || {
            echo "gen-sdk: $wrapper/go.mod is not the pulumi v$PULUMI_VERSION build: run make setup" >&2
            exit 1
        }
        mkdir -p "$tmp/build"
        cp "$wrapper/go.mod" "$wrapper/go.sum" "$ROOT/scripts/gen-python-sdk/main.go" "$tmp/build/"
        (cd "$tmp/build" && GOMODCACHE=$PKV_CACHE/go/mod GOCACHE=$PKV_CACHE/go/build GOTOOLCHAIN=local \
            GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$gen.tmp" . && mv "$gen.tmp" "$gen")
    fi
    "$gen" "$ROOT/schema.json" "$tmp/gen"
    src=$tmp/gen/$PACKAGE_DIR
fi
rm -rf "$OUT"
mkdir -p "$(dirname "$OUT")"
cp -r "$src" "$OUT"
