// Command kubevirt-manifests prints, as one JSON list, the objects virt-operator would
// install for virt-api and virt-controller at the KubeVirt version it is built against:
// every CustomResourceDefinition (the install strategy's list plus the KubeVirt CRD), the
// virt-api Validating/MutatingWebhookConfigurations, the subresources APIServices, and the
// RBAC (ServiceAccounts, ClusterRoles, Roles and their bindings) of the KubeVirt components.
//
// It calls virt-operator's own generators (pkg/virt-operator/resource/generate), so the
// kube tier installs exactly what a real cluster gets; the test harness only replaces the
// in-cluster service references by loopback URLs and adds the CA bundle it made.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"kubevirt.io/kubevirt/pkg/virt-operator/resource/generate/components"
	"kubevirt.io/kubevirt/pkg/virt-operator/resource/generate/install"
	operatorutil "kubevirt.io/kubevirt/pkg/virt-operator/util"
)

func main() {
	namespace := "kubevirt"
	if len(os.Args) > 1 {
		namespace = os.Args[1]
	}
	config := &operatorutil.KubeVirtDeploymentConfig{Namespace: namespace}
	strategy, err := install.GenerateCurrentInstallStrategy(config, "", namespace)
	if err != nil {
		fail(err)
	}
	kv, err := components.NewKubeVirtCrd()
	if err != nil {
		fail(err)
	}
	var out []any
	for _, crd := range append([]*extv1.CustomResourceDefinition{kv}, strategy.CRDs()...) {
		crd.TypeMeta.APIVersion, crd.TypeMeta.Kind = "apiextensions.k8s.io/v1", "CustomResourceDefinition"
		out = append(out, crd)
	}
	out = appendAll(out, strategy.ServiceAccounts())
	out = appendAll(out, strategy.ClusterRoles())
	out = appendAll(out, strategy.ClusterRoleBindings())
	out = appendAll(out, strategy.Roles())
	out = appendAll(out, strategy.RoleBindings())
	out = appendAll(out, strategy.ValidatingWebhookConfigurations())
	out = appendAll(out, strategy.MutatingWebhookConfigurations())
	out = appendAll(out, strategy.APIServices())
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		fail(err)
	}
}

func appendAll[T any](out []any, items []T) []any {
	for _, item := range items {
		out = append(out, item)
	}
	return out
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "kubevirt-manifests:", err)
	os.Exit(1)
}
