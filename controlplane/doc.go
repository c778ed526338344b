// Package controlplane owns the embedded Kubernetes control plane of
// `kubemesos up`: etcd, kube-apiserver and kube-controller-manager from
// k8s.io/kubernetes, run in this process through their options and run
// functions (never their cobra commands, which may apply the process-wide
// logging configuration only once). It keeps all state under one data
// directory (package datadir): credentials generated on first start by package
// pki, the kubeconfigs, etcd's data and the components' logs.
//
// This is one of the few packages allowed to import k8s.io/kubernetes.
package controlplane
