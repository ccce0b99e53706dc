package main

// Every typed_config in an Envoy config is a google.protobuf.Any naming its message by
// type URL. protojson can only read one whose Go package is linked in (it registers the
// type), so each extension the config uses is imported here for that side effect.
// A config naming a type that is missing fails with "unable to resolve" and this file's
// name: add the import and rebuild (check-deploy.sh rebuilds when go.mod/go.sum or any
// .go file here changes).
import (
	// Used by deploy/envoy/envoy.yaml.
	_ "github.com/envoyproxy/go-control-plane/envoy/config/trace/v3"                                       // envoy.tracers.opentelemetry
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/stream/v3"                   // envoy.access_loggers.stdout
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/cors/v3"                       // envoy.filters.http.cors (+ CorsPolicy)
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/grpc_web/v3"                   // envoy.filters.http.grpc_web
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/jwt_authn/v3"                  // envoy.filters.http.jwt_authn
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"                       // envoy.filters.http.rbac
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"                     // envoy.filters.http.router
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3" // envoy.filters.network.http_connection_manager
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/resource_monitors/downstream_connections/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/host/previous_hosts/v3" // envoy.retry_host_predicates.previous_hosts
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"            // HttpProtocolOptions (h2c upstreams)

	// Not used yet, but the next ones an Agora edge is likely to need.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/file/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/health_check/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/local_ratelimit/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
)
