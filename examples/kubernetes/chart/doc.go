// Package chart renders the runway-autoscaling Helm chart with Helm's own
// engine (no helm binary needed) and proves the labels its monitors give:
// the Prometheus Operator's own config generation turns a PodMonitor or
// ServiceMonitor into scrape configs, and Prometheus' own service discovery
// and scrape code turn those, for a Deployment's pod, into the exact label
// sets of up and of the scraped series. Golden files under testdata/ record
// both; the tests regenerate them and fail on any difference
// (go test -update rewrites them).
//
// Render the chart from this directory with
//
//	go run ./render --set deployment=checkout,namespace=shop
package chart
