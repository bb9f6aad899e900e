package exporter

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/sdk/resource"
	// The SDK's own resource detectors use this semconv version; another
	// version would make the merge fail with a schema URL conflict.
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// newResource describes this process: the SDK's telemetry.sdk.* attributes,
// then attrs in increasing priority (the last value of a key wins).
func newResource(ctx context.Context, c *config) (*resource.Resource, error) {
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithTelemetrySDK(),
		resource.WithAttributes(c.resource...),
	)
	if err != nil {
		return nil, fmt.Errorf("exporter: resource: %w", err)
	}
	return res, nil
}
