// gen-python-sdk: what `pulumi package gen-sdk <schema> --language python` does, without the
// language host. The CLI hands Python code generation to the `pulumi-language-python` plugin
// (GeneratePackage RPC), and this machine runs a stand-in of that plugin that does not implement
// it (the Go module of the real one is refused by the module proxy, see
// scripts/pulumi-language-python-standin). The real plugin's GeneratePackage binds the schema and
// calls pkg/v3/codegen/python.GeneratePackage; this program does exactly that, with the same
// pulumi module version as the CLI, and writes the files under the output directory.
//
// usage: gen-python-sdk SCHEMA.json OUTDIR
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen-python-sdk:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) != 3 {
		return fmt.Errorf("usage: gen-python-sdk SCHEMA.json OUTDIR")
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		return err
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("%s: %w", os.Args[1], err)
	}
	pkg, diags, err := schema.BindSpec(spec, noPackages{}, schema.ValidationOptions{})
	if err != nil {
		return err
	}
	if diags.HasErrors() {
		return diags
	}
	// The tool name is the one the real language host passes (the generated files' header).
	files, err := python.GeneratePackage("pulumi-language-python", pkg, nil, noPackages{})
	if err != nil {
		return err
	}
	for name, content := range files {
		path := filepath.Join(os.Args[2], name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, content, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// noPackages loads no other package: the schema references only the builtin pulumi.json types.
type noPackages struct{}

func (noPackages) LoadPackage(name string, _ *semver.Version) (*schema.Package, error) {
	return nil, fmt.Errorf("the schema references package %q; only self-contained schemas are supported", name)
}

func (l noPackages) LoadPackageV2(_ context.Context, d *schema.PackageDescriptor) (*schema.Package, error) {
	return l.LoadPackage(d.Name, nil)
}

func (l noPackages) LoadPackageReference(name string, v *semver.Version) (schema.PackageReference, error) {
	_, err := l.LoadPackage(name, v)
	return nil, err
}

func (l noPackages) LoadPackageReferenceV2(
	_ context.Context, d *schema.PackageDescriptor,
) (schema.PackageReference, error) {
	return l.LoadPackageReference(d.Name, nil)
}
