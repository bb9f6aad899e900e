module github.com/otel-runway/runway/otel-collector/e2e

go 1.26.0

replace github.com/otel-runway/runway => ../..

require (
	github.com/prometheus/client_model v0.6.3
	github.com/prometheus/common v0.74.0
	sigs.k8s.io/yaml v1.6.0
)

require (
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/otel-runway/runway v0.0.0-00010101000000-000000000000
	github.com/pandatix/go-abnf v0.5.5 // indirect
	go.yaml.in/yaml/v2 v2.4.5 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
