package deptest

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/kubemesos/kubemesos"

// rule forbids packages under a folder from depending (directly or not) on
// imports with any of the given prefixes.
type rule struct {
	under  string
	forbid []string
	why    string
}

var rules = []rule{
	{"mesos-sim/", []string{"k8s.io/", "sigs.k8s.io/controller-runtime", module + "/framework", module + "/executor", module + "/scheduler-plugin", module + "/cmd"},
		"mesos-sim is a Mesos master and agents: it knows nothing of Kubernetes or of the framework"},
	{"mesos-sim/agent/", []string{module + "/mesos-sim/master", module + "/mesos-sim/simagent"},
		"a process agent reaches the master over the network only (mesos-sim/agentproto), standalone or inside the master"},
	{"mesos-sim/agentproto/", []string{module + "/mesos-sim/master", module + "/mesos-sim/agent"},
		"the agent protocol is shared by both sides and depends on neither"},
	{"executor/", []string{"k8s.io/client-go", "k8s.io/kubernetes", module + "/framework", module + "/scheduler-plugin"},
		"the executor runs on shared agents without Kubernetes credentials"},
	{"cmd/kubemesos-executor/", []string{"k8s.io/kubernetes", "k8s.io/client-go", "k8s.io/apiserver", "k8s.io/component-base",
		module + "/controlplane", module + "/kubescheduler", module + "/framework", module + "/scheduler-plugin", module + "/mesos-sim"},
		"the slim executor embedded in kubemesos is the executor alone: linking Kubernetes in costs every executor 23–73 MiB of resident memory (docs/benchmarks.md)"},
	{"framework/", []string{"k8s.io/kubernetes"},
		"the framework core stays light; only the kube-scheduler wiring imports k8s.io/kubernetes"},
	{"scheduler-plugin/", []string{"k8s.io/kubernetes", module + "/framework"},
		"the plugin reaches the framework only through its own small interface"},
	{"internal/", []string{"k8s.io/kubernetes"}, "shared helpers must stay light"},
	{"controlplane/", []string{module + "/framework", module + "/executor", module + "/scheduler-plugin", module + "/cmd", module + "/mesos-sim"},
		"the embedded control plane knows nothing of Mesos or the framework; cmd wires them together"},
	{"e2e/", []string{module + "/", "k8s.io/"},
		"e2e tests run the binary as a person would; importing the code would also build Kubernetes again under -race"},
}

// kubernetesImporters are the only folders whose packages may import
// k8s.io/kubernetes directly (the module is huge and its packages assume
// they own the process).
var kubernetesImporters = []string{"controlplane/", "kubescheduler/"}

type listedPackage struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
	TestGoFiles  []string
	XTestGoFiles []string
	Deps         []string
}

func TestDependencyRules(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps=false", "-json", "./...")
	cmd.Dir = "../.."
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(out)
	checked := 0
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(p.ImportPath, module+"/") + "/"
		if len(p.TestGoFiles)+len(p.XTestGoFiles) > 0 && !hasAnyPrefix(rel, kubernetesImporters) &&
			slices.ContainsFunc(p.Deps, func(d string) bool { return strings.HasPrefix(d, "k8s.io/kubernetes/") }) {
			t.Errorf("%s has tests and depends on k8s.io/kubernetes: only %v are tested with Kubernetes linked in "+
				"(`make test` runs them without -race, which would otherwise build all of Kubernetes a second time); "+
				"test it through the binary (e2e/) or move the logic into a light package", p.ImportPath, kubernetesImporters)
		}
		for _, imp := range append(append(p.Imports, p.TestImports...), p.XTestImports...) {
			if strings.HasPrefix(imp, "k8s.io/kubernetes/") && !hasAnyPrefix(rel, kubernetesImporters) {
				t.Errorf("%s imports %s: only %v may import k8s.io/kubernetes", p.ImportPath, imp, kubernetesImporters)
			}
			if strings.HasPrefix(rel, "e2e/") {
				for _, f := range []string{module + "/", "k8s.io/"} {
					if strings.HasPrefix(imp, f) {
						t.Errorf("%s (test) imports %s: e2e tests only run the binary", p.ImportPath, imp)
					}
				}
			}
		}
		for _, r := range rules {
			if !strings.HasPrefix(rel, r.under) {
				continue
			}
			checked++
			for _, dep := range p.Deps {
				for _, f := range r.forbid {
					if strings.HasPrefix(dep, f) {
						t.Errorf("%s depends on %s: %s", p.ImportPath, dep, r.why)
					}
				}
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	if checked == 0 {
		t.Fatal("no package matched any rule; the rules no longer describe the tree")
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
