package controlplane

import (
	"fmt"
	"os"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubemesos/kubemesos/controlplane/pki"
)

// clusterName is the cluster, user and context name in the kubeconfigs.
const clusterName = "kubemesos"

// writeKubeconfig writes a kubeconfig (mode 0600) for the client
// certificate named client, with the credentials embedded so the file can be
// copied elsewhere.
func writeKubeconfig(path, server string, p pki.Paths, client string) error {
	ca, err := os.ReadFile(p.Cert(pki.CAName))
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	cert, err := os.ReadFile(p.Cert(client))
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	key, err := os.ReadFile(p.Key(client))
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	user := clusterName + "-" + client
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[clusterName] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	cfg.Contexts[clusterName] = &clientcmdapi.Context{Cluster: clusterName, AuthInfo: user}
	cfg.CurrentContext = clusterName
	b, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	return nil
}
