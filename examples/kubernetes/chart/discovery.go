package chart

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/util/strutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// The pod that Pod makes: the first pod of a Deployment's ReplicaSet, as
// Kubernetes names and places it.
const (
	PodTemplateHash = "7d9f8c6b5"
	PodSuffix       = "x2k4q"
	PodIP           = "10.244.1.17"
	NodeName        = "node-1"
	HostIP          = "10.0.0.11"
)

// Pod returns a running, ready pod of the Deployment d as the Deployment and
// ReplicaSet controllers create it: named
// <deployment>-<pod-template-hash>-<suffix>, owned by the ReplicaSet
// <deployment>-<pod-template-hash>, labelled with the template's labels and
// pod-template-hash, with the template's spec.
func Pod(d *appsv1.Deployment) *corev1.Pod {
	rs := d.Name + "-" + PodTemplateHash
	labels := map[string]string{"pod-template-hash": PodTemplateHash}
	for k, v := range d.Spec.Template.Labels {
		labels[k] = v
	}
	pod := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        rs + "-" + PodSuffix,
			Namespace:   d.Namespace,
			UID:         types.UID("5f1c6a3e-7b2d-4e8f-9a0b-1c2d3e4f5a6b"),
			Labels:      labels,
			Annotations: d.Spec.Template.Annotations,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs,
				UID:        types.UID("0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"),
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: *d.Spec.Template.Spec.DeepCopy(),
		Status: corev1.PodStatus{
			Phase:  corev1.PodRunning,
			PodIP:  PodIP,
			PodIPs: []corev1.PodIP{{IP: PodIP}},
			HostIP: HostIP,
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodReady, Status: corev1.ConditionTrue},
				{Type: corev1.ContainersReady, Status: corev1.ConditionTrue},
			},
		},
	}
	pod.Spec.NodeName = NodeName
	for _, c := range pod.Spec.Containers {
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, containerStatus(c))
	}
	for _, c := range pod.Spec.InitContainers {
		pod.Status.InitContainerStatuses = append(pod.Status.InitContainerStatuses, containerStatus(c))
	}
	return pod
}

func containerStatus(c corev1.Container) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: c.Name, Image: c.Image, Ready: true, ContainerID: "containerd://" + c.Name}
}

// EndpointSlice returns the EndpointSlice that Kubernetes' EndpointSlice
// controller writes for svc with the one ready pod: the pod's IP, a Pod
// targetRef, and each Service port resolved to the pod's port number (a
// named targetPort is looked up among the containers and the native
// sidecars, restartable init containers, as Kubernetes does since 1.29).
func EndpointSlice(svc *corev1.Service, pod *corev1.Pod) (*discoveryv1.EndpointSlice, error) {
	labels := map[string]string{
		discoveryv1.LabelServiceName: svc.Name,
		discoveryv1.LabelManagedBy:   "endpointslice-controller.k8s.io",
	}
	for k, v := range svc.Labels {
		labels[k] = v
	}
	slice := &discoveryv1.EndpointSlice{
		TypeMeta:    metav1.TypeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice"},
		ObjectMeta:  metav1.ObjectMeta{Name: svc.Name + "-h8k2m", Namespace: svc.Namespace, Labels: labels},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses: []string{pod.Status.PodIP},
			Conditions: discoveryv1.EndpointConditions{
				Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false),
			},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
			NodeName:  ptr.To(pod.Spec.NodeName),
		}},
	}
	for _, sp := range svc.Spec.Ports {
		port, err := findPort(pod, sp)
		if err != nil {
			return nil, err
		}
		protocol := sp.Protocol
		if protocol == "" {
			protocol = corev1.ProtocolTCP
		}
		slice.Ports = append(slice.Ports, discoveryv1.EndpointPort{Name: ptr.To(sp.Name), Port: ptr.To(port), Protocol: ptr.To(protocol)})
	}
	return slice, nil
}

func findPort(pod *corev1.Pod, sp corev1.ServicePort) (int32, error) {
	switch sp.TargetPort.Type {
	case intstr.Int:
		if sp.TargetPort.IntVal == 0 {
			return sp.Port, nil
		}
		return sp.TargetPort.IntVal, nil
	}
	containers := slices.Clone(pod.Spec.Containers)
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			containers = append(containers, c)
		}
	}
	for _, c := range containers {
		for _, p := range c.Ports {
			if p.Name == sp.TargetPort.StrVal {
				return p.ContainerPort, nil
			}
		}
	}
	return 0, fmt.Errorf("service port %q: no container port named %q", sp.Name, sp.TargetPort.StrVal)
}

// Discover returns the target groups that Prometheus' Kubernetes service
// discovery hands the scrape manager for the pod (the pod role) and, when
// slice is not nil, for the EndpointSlice of svc (the endpointslice role):
// the __meta_kubernetes_* labels of discovery/kubernetes/pod.go (buildPod)
// and endpointslice.go (buildEndpointSlice) of Prometheus v0.305.0, label for
// label, without node metadata (attach_metadata, which the monitors do not
// set).
//
// This is a port, not a call: that package does not compile beside the
// Kubernetes client the Prometheus Operator v0.85.0 needs (client-go v0.33
// changed cache.DefaultWatchErrorHandler), and it needs an API server.
func Discover(pod *corev1.Pod, svc *corev1.Service, slice *discoveryv1.EndpointSlice) map[string][]*targetgroup.Group {
	out := map[string][]*targetgroup.Group{"pod": {podGroup(pod)}}
	if slice != nil {
		out["endpointslice"] = []*targetgroup.Group{endpointSliceGroup(slice, svc, pod)}
	}
	return out
}

const meta = model.MetaLabelPrefix + "kubernetes_"

func lv(s string) model.LabelValue { return model.LabelValue(s) }

// objectMetaLabels is addObjectMetaLabels.
func objectMetaLabels(ls model.LabelSet, m metav1.ObjectMeta, role string) {
	ls[model.LabelName(meta+role+"_name")] = lv(m.Name)
	for k, v := range m.Labels {
		ln := strutil.SanitizeLabelName(k)
		ls[model.LabelName(meta+role+"_label_"+ln)] = lv(v)
		ls[model.LabelName(meta+role+"_labelpresent_"+ln)] = "true"
	}
	for k, v := range m.Annotations {
		ln := strutil.SanitizeLabelName(k)
		ls[model.LabelName(meta+role+"_annotation_"+ln)] = lv(v)
		ls[model.LabelName(meta+role+"_annotationpresent_"+ln)] = "true"
	}
}

// podLabels is pod.go's podLabels.
func podLabels(pod *corev1.Pod) model.LabelSet {
	ready := "unknown"
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			ready = strings.ToLower(string(c.Status))
		}
	}
	ls := model.LabelSet{
		meta + "pod_ip":        lv(pod.Status.PodIP),
		meta + "pod_ready":     lv(ready),
		meta + "pod_phase":     lv(string(pod.Status.Phase)),
		meta + "pod_node_name": lv(pod.Spec.NodeName),
		meta + "pod_host_ip":   lv(pod.Status.HostIP),
		meta + "pod_uid":       lv(string(pod.UID)),
	}
	objectMetaLabels(ls, pod.ObjectMeta, "pod")
	if c := metav1.GetControllerOf(pod); c != nil {
		if c.Kind != "" {
			ls[meta+"pod_controller_kind"] = lv(c.Kind)
		}
		if c.Name != "" {
			ls[meta+"pod_controller_name"] = lv(c.Name)
		}
	}
	return ls
}

// containers returns the pod's containers, then its init containers, and
// how many of the first kind there are.
func containers(pod *corev1.Pod) ([]corev1.Container, int) {
	return append(slices.Clone(pod.Spec.Containers), pod.Spec.InitContainers...), len(pod.Spec.Containers)
}

func containerID(pod *corev1.Pod, name string, init bool) string {
	statuses := pod.Status.ContainerStatuses
	if init {
		statuses = pod.Status.InitContainerStatuses
	}
	for _, s := range statuses {
		if s.Name == name {
			return s.ContainerID
		}
	}
	return ""
}

// podGroup is pod.go's buildPod: one target per container and port.
func podGroup(pod *corev1.Pod) *targetgroup.Group {
	tg := &targetgroup.Group{Source: "pod/" + pod.Namespace + "/" + pod.Name, Labels: podLabels(pod)}
	tg.Labels[meta+"namespace"] = lv(pod.Namespace)
	cs, n := containers(pod)
	for i, c := range cs {
		isInit := i >= n
		base := model.LabelSet{
			meta + "pod_container_name":  lv(c.Name),
			meta + "pod_container_id":    lv(containerID(pod, c.Name, isInit)),
			meta + "pod_container_image": lv(c.Image),
			meta + "pod_container_init":  lv(strconv.FormatBool(isInit)),
		}
		if len(c.Ports) == 0 {
			base[model.AddressLabel] = lv(pod.Status.PodIP)
			tg.Targets = append(tg.Targets, base)
			continue
		}
		for _, p := range c.Ports {
			port := strconv.FormatUint(uint64(p.ContainerPort), 10)
			t := base.Clone()
			t[model.AddressLabel] = lv(net.JoinHostPort(pod.Status.PodIP, port))
			t[meta+"pod_container_port_number"] = lv(port)
			t[meta+"pod_container_port_name"] = lv(p.Name)
			t[meta+"pod_container_port_protocol"] = lv(string(p.Protocol))
			tg.Targets = append(tg.Targets, t)
		}
	}
	return tg
}

// endpointSliceGroup is endpointslice.go's buildEndpointSlice for a slice
// whose endpoints are pod, with the labels of its Service svc.
func endpointSliceGroup(eps *discoveryv1.EndpointSlice, svc *corev1.Service, pod *corev1.Pod) *targetgroup.Group {
	tg := &targetgroup.Group{
		Source: "endpointslice/" + eps.Namespace + "/" + eps.Name,
		Labels: model.LabelSet{
			meta + "namespace":                  lv(eps.Namespace),
			meta + "endpointslice_address_type": lv(string(eps.AddressType)),
		},
	}
	objectMetaLabels(tg.Labels, eps.ObjectMeta, "endpointslice")
	if svc != nil && eps.Labels[discoveryv1.LabelServiceName] == svc.Name && eps.Namespace == svc.Namespace {
		sl := model.LabelSet{meta + "namespace": lv(svc.Namespace)}
		objectMetaLabels(sl, svc.ObjectMeta, "service")
		tg.Labels = tg.Labels.Merge(sl)
	}
	var seenPorts []int32
	podSeen := false
	for _, ep := range eps.Endpoints {
		for _, port := range eps.Ports {
			for _, addr := range ep.Addresses {
				a := addr
				if port.Port != nil {
					a = net.JoinHostPort(addr, strconv.FormatUint(uint64(*port.Port), 10))
				}
				t := model.LabelSet{model.AddressLabel: lv(a)}
				if port.Name != nil {
					t[meta+"endpointslice_port_name"] = lv(*port.Name)
				}
				if port.Protocol != nil {
					t[meta+"endpointslice_port_protocol"] = lv(string(*port.Protocol))
				}
				if port.Port != nil {
					t[meta+"endpointslice_port"] = lv(strconv.FormatUint(uint64(*port.Port), 10))
				}
				if port.AppProtocol != nil {
					t[meta+"endpointslice_port_app_protocol"] = lv(*port.AppProtocol)
				}
				if ep.Conditions.Ready != nil {
					t[meta+"endpointslice_endpoint_conditions_ready"] = lv(strconv.FormatBool(*ep.Conditions.Ready))
				}
				if ep.Conditions.Serving != nil {
					t[meta+"endpointslice_endpoint_conditions_serving"] = lv(strconv.FormatBool(*ep.Conditions.Serving))
				}
				if ep.Conditions.Terminating != nil {
					t[meta+"endpointslice_endpoint_conditions_terminating"] = lv(strconv.FormatBool(*ep.Conditions.Terminating))
				}
				if ep.Hostname != nil {
					t[meta+"endpointslice_endpoint_hostname"] = lv(*ep.Hostname)
				}
				if ep.TargetRef != nil {
					t[meta+"endpointslice_address_target_kind"] = lv(ep.TargetRef.Kind)
					t[meta+"endpointslice_address_target_name"] = lv(ep.TargetRef.Name)
				}
				if ep.NodeName != nil {
					t[meta+"endpointslice_endpoint_node_name"] = lv(*ep.NodeName)
				}
				if ep.Zone != nil {
					t[meta+"endpointslice_endpoint_zone"] = lv(*ep.Zone)
				}
				if ep.TargetRef == nil || ep.TargetRef.Kind != "Pod" || ep.TargetRef.Name != pod.Name || ep.TargetRef.Namespace != pod.Namespace {
					tg.Targets = append(tg.Targets, t)
					continue
				}
				podSeen = true
				t = t.Merge(podLabels(pod))
				cs, n := containers(pod)
				for i, c := range cs {
					for _, cp := range c.Ports {
						if port.Port != nil && *port.Port == cp.ContainerPort {
							t[meta+"pod_container_name"] = lv(c.Name)
							t[meta+"pod_container_image"] = lv(c.Image)
							t[meta+"pod_container_port_name"] = lv(cp.Name)
							t[meta+"pod_container_port_number"] = lv(strconv.FormatUint(uint64(cp.ContainerPort), 10))
							t[meta+"pod_container_port_protocol"] = lv(string(cp.Protocol))
							t[meta+"pod_container_init"] = lv(strconv.FormatBool(i >= n))
							break
						}
					}
				}
				if port.Port != nil {
					seenPorts = append(seenPorts, *port.Port)
				}
				tg.Targets = append(tg.Targets, t)
			}
		}
	}
	// The pod's container ports that no endpoint port covers get targets
	// too.
	if podSeen && pod.Status.PodIP != "" {
		cs, n := containers(pod)
		for i, c := range cs {
			for _, cp := range c.Ports {
				if slices.Contains(seenPorts, cp.ContainerPort) {
					continue
				}
				port := strconv.FormatUint(uint64(cp.ContainerPort), 10)
				t := model.LabelSet{
					model.AddressLabel:                   lv(net.JoinHostPort(pod.Status.PodIP, port)),
					meta + "pod_container_name":          lv(c.Name),
					meta + "pod_container_image":         lv(c.Image),
					meta + "pod_container_port_name":     lv(cp.Name),
					meta + "pod_container_port_number":   lv(port),
					meta + "pod_container_port_protocol": lv(string(cp.Protocol)),
					meta + "pod_container_init":          lv(strconv.FormatBool(i >= n)),
				}
				tg.Targets = append(tg.Targets, t.Merge(podLabels(pod)))
			}
		}
	}
	return tg
}
