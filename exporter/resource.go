package exporter

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/sdk/resource"
	// The SDK's own resource detectors use this semconv version; another
	// version would make the merge fail with a schema URL conflict.
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// newResource describes this process, in increasing priority (the last
// value of a key wins): the SDK's telemetry.sdk.* attributes, runway's
// defaults for service.name and service.instance.id, the SDK's reading of
// OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME (checked by newConfig),
// then the options.
func newResource(ctx context.Context, c *config) (*resource.Resource, error) {
	code := c.attrs
	if c.serviceName != "" {
		code = append(code[:len(code):len(code)], semconv.ServiceName(c.serviceName))
	}
	if c.instanceID != "" {
		code = append(code[:len(code):len(code)], semconv.ServiceInstanceID(c.instanceID))
	}
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithTelemetrySDK(),
		resource.WithAttributes(
			semconv.ServiceName(defaultServiceName()),
			semconv.ServiceInstanceID(defaultInstanceID())),
		resource.WithFromEnv(),
		resource.WithAttributes(code...),
	)
	if err != nil {
		return nil, fmt.Errorf("exporter: resource: %w", err)
	}
	return res, nil
}

// defaultServiceName is the OpenTelemetry default: "unknown_service:" and
// the executable's name.
func defaultServiceName() string {
	exe, err := os.Executable()
	if err != nil {
		return "unknown_service:go"
	}
	return "unknown_service:" + exe[strings.LastIndexAny(exe, `/\`)+1:]
}

// defaultInstanceID is "HOSTNAME-PID": unique per process on a host, and
// stable for the process's lifetime.
func defaultInstanceID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}
