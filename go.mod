module github.com/otel-runway/runway

go 1.26.8
