// Package lab holds what the live and simulated modes of the autoscaling
// lab share: the scenario (traffic profile, pod model, autoscaler
// settings), Poisson arrivals with their service times, the signals and
// the targets derived from one in-flight threshold, the Store of scraped
// series evaluated with Prometheus' semantics, the Controller (KEDA and
// the HPA), the Recorder of what a run measures, the outputs (table,
// JSON, CSV, SVG) and the recommendation with its KEDA ScaledObject.
package lab
