package main

import (
	"fmt"
	"strings"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tracev3 "github.com/envoyproxy/go-control-plane/envoy/config/trace/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/types/known/anypb"
)

// crossCheck covers what Envoy checks (or silently gets wrong) across messages, which
// per-message validation cannot see: references between listeners, routes and clusters,
// the HTTP filter chain, and HTTP/2 where gRPC needs it.
type crossCheck struct {
	w         *walker
	clusters  map[string]*clusterv3.Cluster
	drainTime time.Duration
	routes    int
	// access is the access table to hold jwt_authn + rbac to (nil: not checked);
	// accessCases counts the calls evaluated against it (access.go).
	access      *accessSpec
	accessCases int
}

func (c *crossCheck) run(b *bootstrapv3.Bootstrap) {
	sr := b.GetStaticResources()
	c.clusters = map[string]*clusterv3.Cluster{}
	for i, cl := range sr.GetClusters() {
		path := joinIndex("static_resources.clusters", i)
		if _, dup := c.clusters[cl.GetName()]; dup {
			c.w.add(true, joinKey(path, "name"), "cluster %q is defined twice", cl.GetName())
		}
		c.clusters[cl.GetName()] = cl
		c.cluster(cl, path)
	}
	listeners := map[string]bool{}
	addresses := map[string]bool{}
	for i, l := range sr.GetListeners() {
		path := joinIndex("static_resources.listeners", i)
		if listeners[l.GetName()] {
			c.w.add(true, joinKey(path, "name"), "listener %q is defined twice", l.GetName())
		}
		listeners[l.GetName()] = true
		if sa := l.GetAddress().GetSocketAddress(); sa != nil {
			addr := fmt.Sprintf("%s:%d", sa.GetAddress(), sa.GetPortValue())
			if addresses[addr] {
				c.w.add(true, joinKey(path, "address"), "two listeners bind %s", addr)
			}
			addresses[addr] = true
		}
	}
	for _, u := range c.w.unpacked {
		switch m := u.msg.(type) {
		case *hcmv3.HttpConnectionManager:
			c.hcm(m, u.path)
		}
	}
}

// cluster: gRPC health checks need HTTP/2 to the hosts; endpoints need a port.
func (c *crossCheck) cluster(cl *clusterv3.Cluster, path string) {
	grpcHC := false
	for _, hc := range cl.GetHealthChecks() {
		if hc.GetGrpcHealthCheck() != nil {
			grpcHC = true
		}
	}
	if grpcHC && !speaksHTTP2(cl) {
		c.w.add(true, path, "cluster %q has a gRPC health check but no HTTP/2 upstream (typed_extension_protocol_options envoy.extensions.upstreams.http.v3.HttpProtocolOptions explicit_http_config.http2_protocol_options)", cl.GetName())
	}
	la := cl.GetLoadAssignment()
	if la != nil && la.GetClusterName() != cl.GetName() {
		c.w.add(false, path+".load_assignment.cluster_name", "is %q, the cluster is %q (copy-paste?)", la.GetClusterName(), cl.GetName())
	}
	for i, group := range la.GetEndpoints() {
		for j, ep := range group.GetLbEndpoints() {
			sa := ep.GetEndpoint().GetAddress().GetSocketAddress()
			if sa != nil && sa.GetPortValue() == 0 && sa.GetNamedPort() == "" {
				c.w.add(true, fmt.Sprintf("%s.load_assignment.endpoints[%d].lb_endpoints[%d]", path, i, j), "endpoint %s has no port", sa.GetAddress())
			}
		}
	}
}

func speaksHTTP2(cl *clusterv3.Cluster) bool {
	if cl.GetHttp2ProtocolOptions() != nil { //nolint:staticcheck // the deprecated spelling still works
		return true
	}
	a, ok := cl.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
	if !ok {
		return false
	}
	var opts upstreamhttpv3.HttpProtocolOptions
	if err := a.UnmarshalTo(&opts); err != nil {
		return false
	}
	if opts.GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil {
		return true
	}
	// auto_config speaks HTTP/2 only with ALPN, i.e. over TLS; use_downstream_protocol
	// depends on the caller. Neither is guaranteed HTTP/2 for a health check.
	return false
}

func (c *crossCheck) hcm(h *hcmv3.HttpConnectionManager, path string) {
	filters := h.GetHttpFilters()
	names := map[string]bool{}
	for i, f := range filters {
		fpath := joinIndex(joinKey(path, "http_filters"), i)
		if names[f.GetName()] {
			c.w.add(true, fpath, "HTTP filter %q appears twice", f.GetName())
		}
		names[f.GetName()] = true
		if isRouter(f) && i != len(filters)-1 {
			c.w.add(true, fpath, "the router filter must be the last HTTP filter (filters after it never run)")
		}
	}
	if len(filters) == 0 || !isRouter(filters[len(filters)-1]) {
		c.w.add(true, joinKey(path, "http_filters"), "the last HTTP filter must be envoy.filters.http.router")
	}
	c.authFilters(h, path)

	drain := 5 * time.Second // Envoy's default drain_timeout
	if h.GetDrainTimeout() != nil {
		drain = h.GetDrainTimeout().AsDuration()
	}
	if c.drainTime > 0 && drain >= c.drainTime {
		c.w.add(true, joinKey(path, "drain_timeout"), "drain_timeout %s is not below --drain-time-s %s: listeners would close before the final GOAWAY", drain, c.drainTime)
	}

	if tp := h.GetTracing().GetProvider(); tp != nil {
		var otel tracev3.OpenTelemetryConfig
		if tp.GetTypedConfig().MessageIs(&otel) && tp.GetTypedConfig().UnmarshalTo(&otel) == nil {
			if name := otel.GetGrpcService().GetEnvoyGrpc().GetClusterName(); name != "" {
				c.needCluster(name, path+".tracing.provider.typed_config.grpc_service.envoy_grpc.cluster_name", true)
			}
		}
	}

	rc := h.GetRouteConfig()
	if rc == nil {
		return // RDS or scoped routes: nothing static to check
	}
	rpath := joinKey(path, "route_config")
	c.perFilter(rc.GetTypedPerFilterConfig(), names, rpath)
	for i, vh := range rc.GetVirtualHosts() {
		vpath := joinIndex(joinKey(rpath, "virtual_hosts"), i)
		c.perFilter(vh.GetTypedPerFilterConfig(), names, vpath)
		for j, r := range vh.GetRoutes() {
			c.routes++
			c.route(r, names, joinIndex(joinKey(vpath, "routes"), j))
		}
	}
}

func isRouter(f *hcmv3.HttpFilter) bool {
	return f.GetName() == "envoy.filters.http.router" || f.GetTypedConfig().MessageIs(&routerv3.Router{})
}

// perFilter: a typed_per_filter_config entry for a filter that is not in the chain is
// silently ignored by Envoy (a CORS policy that never applies, say).
func (c *crossCheck) perFilter(cfg map[string]*anypb.Any, filters map[string]bool, path string) {
	for name := range cfg {
		if !filters[name] {
			c.w.add(true, joinKey(joinKey(path, "typed_per_filter_config"), name), "no HTTP filter named %q in this connection manager: this config would never apply", name)
		}
	}
}

func (c *crossCheck) route(r *routev3.Route, filters map[string]bool, path string) {
	c.perFilter(r.GetTypedPerFilterConfig(), filters, path)
	action := r.GetRoute()
	if action == nil {
		return
	}
	var targets []string
	if name := action.GetCluster(); name != "" {
		targets = append(targets, name)
		c.needCluster(name, path+".route.cluster", false)
	}
	for k, wc := range action.GetWeightedClusters().GetClusters() {
		targets = append(targets, wc.GetName())
		c.needCluster(wc.GetName(), fmt.Sprintf("%s.route.weighted_clusters.clusters[%d]", path, k), false)
	}
	// A gRPC route /pkg.Service/... should go to the cluster whose health check asks
	// about pkg.Service: catches a route copied from another service and not retargeted.
	service := grpcService(r.GetMatch())
	if service == "" {
		return
	}
	for _, name := range targets {
		cl := c.clusters[name]
		for _, hc := range cl.GetHealthChecks() {
			want := hc.GetGrpcHealthCheck().GetServiceName()
			if want != "" && want != service {
				c.w.add(true, path+".route.cluster", "requests for %s go to cluster %q, whose health check is for %s", service, name, want)
			}
		}
	}
}

// grpcService returns "pkg.Service" for a match on "/pkg.Service/..." (a prefix, a path,
// or a regex whose first segment is a literal such as /agora\.order\.v1\.OrderService/).
func grpcService(m *routev3.RouteMatch) string {
	var s string
	switch {
	case m.GetPrefix() != "":
		s = m.GetPrefix()
	case m.GetPath() != "":
		s = m.GetPath()
	case m.GetSafeRegex() != nil:
		s = strings.ReplaceAll(m.GetSafeRegex().GetRegex(), `\.`, ".")
	default:
		return ""
	}
	if !strings.HasPrefix(s, "/") {
		return ""
	}
	s = s[1:]
	end := strings.IndexByte(s, '/')
	if end < 0 {
		return ""
	}
	s = s[:end]
	if !strings.Contains(s, ".") || strings.ContainsAny(s, `\^$*+?()[]{}|`) {
		return ""
	}
	return s
}

func (c *crossCheck) needCluster(name, path string, http2 bool) {
	cl, ok := c.clusters[name]
	if !ok {
		c.w.add(true, path, "no cluster named %q", name)
		return
	}
	if http2 && !speaksHTTP2(cl) {
		c.w.add(true, path, "cluster %q is used for gRPC but is not configured for HTTP/2", name)
	}
}
