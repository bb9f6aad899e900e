// Package hpa is the replica calculation of the Kubernetes
// HorizontalPodAutoscaler (autoscaling/v2), as its controller computes it
// (pkg/controller/podautoscaler in kubernetes/kubernetes:
// replica_calculator.go and horizontal.go), with KEDA's polling in front
// of it.
//
// One Autoscaler is one HPA object. Every sync period (15 s by default,
// the controller's --horizontal-pod-autoscaler-sync-period) the caller
// hands Sync the time, the current replica count, the pods with their
// readiness, and the metric value; Sync returns the new replica count:
//
//  1. the first sync records the current count as a recommendation
//     (recordInitialRecommendation); a metric that cannot be read stops
//     the sync there, recording nothing;
//  2. desired = ceil(current × value / target), with the metric forms
//     External AverageValue (KEDA's default: the total divided by the
//     target per replica), External Value (the ratio times the ready
//     pods), Pods AverageValue and Resource Utilization (CPU, truncated to
//     a whole percent), and the tolerance: no change while
//     1 − scaleDown ≤ ratio ≤ 1 + scaleUp (0.1 each by default);
//  3. for Pods and Resource metrics, groupPods: pending pods (and, for
//     CPU, pods not ready within their initialisation period) are left
//     out, then counted at 0 for a scale-up; pods without a metric are
//     missing, counted at 0 for a scale-up and at the target (CPU: at
//     max(100 %, target) of the request) for a scale-down;
//  4. without a behavior field (KEDA's default), normalizeDesiredReplicas:
//     the highest recommendation of the downscale stabilization window
//     (5 min), and at most max(2 × current, 4) replicas per sync; with
//     one, normalizeDesiredReplicasWithBehaviors: the scale-up and
//     scale-down windows, then the policies (Pods or Percent per period,
//     selectPolicy Max, Min or Disabled);
//  5. min/max replicas bound the result.
//
// The behavior defaults are Kubernetes': scale-up with no stabilization
// and the larger of +100 % and +4 pods per 15 s; scale-down with the
// controller's 300 s window and −100 % per 15 s. CPU initialization period
// 5 min and initial readiness delay 30 s.
package hpa
