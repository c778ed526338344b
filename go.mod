module github.com/kubemesos/kubemesos

go 1.26

require (
	github.com/gogo/protobuf v1.3.2
	github.com/mesos/mesos-go v0.0.11
	github.com/spf13/cobra v1.10.2
	github.com/spf13/pflag v1.1.0
	sigs.k8s.io/yaml v1.6.0
)

require (
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/pquerna/ffjson v0.0.0-20190930134022-aa0246cd15f7 // indirect
	go.yaml.in/yaml/v2 v2.4.2 // indirect
)
