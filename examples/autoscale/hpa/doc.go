// Package hpa is the replica calculation of the Kubernetes
// HorizontalPodAutoscaler (autoscaling/v2), as its controller computes it
// (pkg/controller/podautoscaler in kubernetes/kubernetes), with KEDA's
// polling in front of it.
//
// One Autoscaler is one HPA object. Every sync period (15 s by default,
// the controller's --horizontal-pod-autoscaler-sync-period) the caller
// hands Sync the time, the current replica count, the pods with their
// readiness, and the metric value; Sync returns the new replica count:
//
//  1. desired = ceil(current × value / target), with the metric forms
//     External AverageValue (KEDA's default: the total divided by the
//     target per replica), External Value, Pods AverageValue and Resource
//     Utilization (CPU), and the 10 % tolerance around a ratio of 1;
//  2. for Pods and Resource metrics, pods that are not ready yet (and,
//     for CPU, pods still in their initialisation period) are left out,
//     then counted at 0 for a scale-up, as the controller does;
//  3. the stabilization windows: the lowest recommendation of the
//     scale-up window and the highest of the scale-down window bound the
//     change;
//  4. the behavior policies (Pods or Percent per period, selectPolicy
//     Max, Min or Disabled) limit the rate of change, and min/max replicas
//     bound the result.
//
// The defaults are Kubernetes': tolerance 0.1; scale-up with no
// stabilization and the larger of +100 % and +4 pods per 15 s; scale-down
// with a 300 s stabilization window and −100 % per 15 s; CPU
// initialization period 5 min and initial readiness delay 30 s.
package hpa
