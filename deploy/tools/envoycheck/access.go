package main

// Who may call what through Envoy, checked by evaluating the config rather than by
// reading it: for every RPC of the proto files (-rpcs), and for callers without a token
// and with tokens carrying several role sets, the jwt_authn rules and the rbac policies
// of each HTTP connection manager are run the way Envoy runs them, and the outcome is
// compared with the access table given on the command line (-restrict, -open). A
// policy that misses an RPC, a role name with a typo, an RBAC metadata path that does
// not match where jwt_authn puts the payload, or a jwt_authn rule that lets a call
// through without a token all show up as "Envoy lets X through, the table says ...".
//
// The model covers the parts of the two filters this repo uses (path matches, roles in
// a list claim, and/or/not, DENY and ALLOW). Anything else it meets (CEL conditions,
// header or IP principals, per-route overrides, ...) is reported as an error rather
// than guessed at: extend this file, or keep the config within the model.

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	corsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/cors/v3"
	jwtv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/jwt_authn/v3"
	rbacv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/anypb"
)

const (
	corsFilter   = "envoy.filters.http.cors"
	jwtFilter    = "envoy.filters.http.jwt_authn"
	rbacFilter   = "envoy.filters.http.rbac"
	routerFilter = "envoy.filters.http.router"
	// jwt_authn writes payload_in_metadata under this namespace, whatever the filter's
	// configured name.
	jwtMetadataNamespace = "envoy.filters.http.jwt_authn"
)

// accessSpec is the access table: every RPC, the roles a restricted one needs, and the
// paths that must work without a token.
type accessSpec struct {
	rpcs       []string            // "/pkg.Service/Method", from the proto files
	restricted map[string][]string // path -> roles of which the token needs one
	open       []string            // paths that need no token (health, reflection)
	roles      []string            // every role named in restricted, sorted
}

// multiFlag collects a repeated flag (-restrict, -open).
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

var (
	protoPackage = regexp.MustCompile(`(?m)^package\s+([\w.]+)\s*;`)
	protoService = regexp.MustCompile(`(?m)^service\s+(\w+)\s*\{`)
	protoRPC     = regexp.MustCompile(`(?m)^\s*rpc\s+(\w+)\s*\(`)
)

// loadAccessSpec reads the RPCs of the proto files matching glob and applies the
// -restrict flags ("admin,service:order=agora.payment.v1.PaymentService/*,...").
// Every pattern must name at least one RPC: a table entry for an RPC that was renamed
// or removed is an error, not a silent no-op.
func loadAccessSpec(glob string, restrict, open []string) (*accessSpec, error) {
	files, err := filepath.Glob(glob)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("-rpcs %s matches no file", glob)
	}
	spec := &accessSpec{restricted: map[string][]string{}, open: open}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		text := string(src)
		pkg := protoPackage.FindStringSubmatch(text)
		if pkg == nil {
			return nil, fmt.Errorf("%s: no package statement", f)
		}
		// The RPCs after each `service X {` up to the next service belong to X.
		svcs := protoService.FindAllStringSubmatchIndex(text, -1)
		for i, loc := range svcs {
			end := len(text)
			if i+1 < len(svcs) {
				end = svcs[i+1][0]
			}
			name := text[loc[2]:loc[3]]
			for _, m := range protoRPC.FindAllStringSubmatch(text[loc[1]:end], -1) {
				spec.rpcs = append(spec.rpcs, fmt.Sprintf("/%s.%s/%s", pkg[1], name, m[1]))
			}
		}
	}
	sort.Strings(spec.rpcs)
	if len(spec.rpcs) == 0 {
		return nil, fmt.Errorf("no rpc in %s", glob)
	}
	roleSet := map[string]bool{}
	for _, r := range restrict {
		rolesPart, patterns, ok := strings.Cut(r, "=")
		if !ok || rolesPart == "" || patterns == "" {
			return nil, fmt.Errorf("-restrict %q: want ROLE[,ROLE...]=pkg.Service/Method[,pkg.Service/*...]", r)
		}
		roles := strings.Split(rolesPart, ",")
		for _, role := range roles {
			roleSet[role] = true
		}
		for _, pat := range strings.Split(patterns, ",") {
			pat = "/" + strings.TrimPrefix(strings.TrimSpace(pat), "/")
			n := 0
			for _, rpc := range spec.rpcs {
				if rpc == pat || (strings.HasSuffix(pat, "/*") && strings.HasPrefix(rpc, strings.TrimSuffix(pat, "*"))) {
					if prev, dup := spec.restricted[rpc]; dup {
						return nil, fmt.Errorf("-restrict: %s is listed twice (%v and %v)", rpc, prev, roles)
					}
					spec.restricted[rpc] = roles
					n++
				}
			}
			if n == 0 {
				return nil, fmt.Errorf("-restrict: %s names no RPC of %s (renamed or removed?)", pat, glob)
			}
		}
	}
	for r := range roleSet {
		spec.roles = append(spec.roles, r)
	}
	sort.Strings(spec.roles)
	return spec, nil
}

// authFilters checks the HTTP filters that decide who gets through: their order, the
// CORS policies, the jwt_authn providers and rules, and (with an access table) what
// jwt_authn and rbac together let through.
func (c *crossCheck) authFilters(h *hcmv3.HttpConnectionManager, path string) {
	filters := h.GetHttpFilters()
	fpath := joinKey(path, "http_filters")
	index := map[string]int{}
	for i, f := range filters {
		index[canonicalFilter(f)] = i
	}
	// cors -> jwt_authn -> rbac -> router: the payload metadata rbac reads exists only
	// after jwt_authn ran, and cors must see (and decorate) the 401/403 replies of both.
	order := []string{corsFilter, jwtFilter, rbacFilter, routerFilter}
	for i := 0; i < len(order); i++ {
		for j := i + 1; j < len(order); j++ {
			a, aok := index[order[i]]
			b, bok := index[order[j]]
			if aok && bok && a > b {
				c.w.add(true, joinIndex(fpath, a), "HTTP filter %s runs after %s: the order must be %s", order[i], order[j], strings.Join(order, " -> "))
			}
		}
	}
	if c.access != nil {
		for _, name := range []string{jwtFilter, rbacFilter} {
			if _, ok := index[name]; !ok {
				c.w.add(true, fpath, "no %s filter: the access table (-restrict) cannot hold", name)
			}
		}
	}

	var jwt *jwtv3.JwtAuthentication
	var rbac *rbacv3.RBAC
	for i, f := range filters {
		switch canonicalFilter(f) {
		case jwtFilter:
			jwt = &jwtv3.JwtAuthentication{}
			if f.GetTypedConfig().UnmarshalTo(jwt) != nil {
				jwt = nil
			} else {
				c.jwtStatic(jwt, joinKey(joinIndex(fpath, i), "typed_config"))
			}
		case rbacFilter:
			rbac = &rbacv3.RBAC{}
			if f.GetTypedConfig().UnmarshalTo(rbac) != nil {
				rbac = nil
			}
		}
	}

	rc := h.GetRouteConfig()
	c.corsPolicies(rc, joinKey(path, "route_config"))
	if c.access == nil || jwt == nil || rbac == nil {
		return
	}
	// Per-route overrides of either filter would make the outcome depend on the route;
	// the model evaluates the filter-level config only.
	overridden := false
	for _, name := range []string{filters[index[jwtFilter]].GetName(), filters[index[rbacFilter]].GetName()} {
		if _, ok := rc.GetTypedPerFilterConfig()[name]; ok {
			c.w.add(true, joinKey(joinKey(joinKey(path, "route_config"), "typed_per_filter_config"), name), "per-route override of %s: envoycheck's access model does not follow it", name)
			overridden = true
		}
		for i, vh := range rc.GetVirtualHosts() {
			vpath := joinIndex(joinKey(joinKey(path, "route_config"), "virtual_hosts"), i)
			if _, ok := vh.GetTypedPerFilterConfig()[name]; ok {
				c.w.add(true, joinKey(joinKey(vpath, "typed_per_filter_config"), name), "per-route override of %s: envoycheck's access model does not follow it", name)
				overridden = true
			}
			for j, r := range vh.GetRoutes() {
				if _, ok := r.GetTypedPerFilterConfig()[name]; ok {
					c.w.add(true, joinKey(joinKey(joinIndex(joinKey(vpath, "routes"), j), "typed_per_filter_config"), name), "per-route override of %s: envoycheck's access model does not follow it", name)
					overridden = true
				}
			}
		}
	}
	if !overridden {
		c.evaluate(jwt, rbac, index[rbacFilter] < index[jwtFilter], fpath)
	}
}

// canonicalFilter names a filter by its type when its name is not a well-known one.
func canonicalFilter(f *hcmv3.HttpFilter) string {
	switch {
	case f.GetTypedConfig().MessageIs(&jwtv3.JwtAuthentication{}):
		return jwtFilter
	case f.GetTypedConfig().MessageIs(&rbacv3.RBAC{}):
		return rbacFilter
	case f.GetTypedConfig().MessageIs(&corsv3.Cors{}):
		return corsFilter
	case isRouter(f):
		return routerFilter
	}
	return f.GetName()
}

// jwtStatic: what Envoy refuses at load (a rule naming no provider) or what quietly
// breaks the services behind it (a provider that strips the token they verify again).
func (c *crossCheck) jwtStatic(j *jwtv3.JwtAuthentication, path string) {
	providers := j.GetProviders()
	var names []string
	for name := range providers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := providers[name]
		ppath := joinKey(joinKey(path, "providers"), name)
		if !p.GetForward() {
			c.w.add(true, joinKey(ppath, "forward"), "provider %q removes the token before the upstream: the services verify it again, so every call would fail UNAUTHENTICATED (set forward: true)", name)
		}
		if p.GetPayloadInMetadata() == "" && c.access != nil {
			c.w.add(true, joinKey(ppath, "payload_in_metadata"), "provider %q puts no payload in the metadata: rbac cannot read its roles", name)
		}
		if p.GetLocalJwks() == nil && p.GetRemoteJwks() == nil {
			c.w.add(true, ppath, "provider %q has no JWKS (local_jwks or remote_jwks)", name)
		}
	}
	var walk func(r *jwtv3.JwtRequirement, at string)
	walk = func(r *jwtv3.JwtRequirement, at string) {
		switch {
		case r.GetProviderName() != "":
			if providers[r.GetProviderName()] == nil {
				c.w.add(true, joinKey(at, "provider_name"), "no jwt_authn provider named %q (providers: %s)", r.GetProviderName(), strings.Join(names, ", "))
			}
		case r.GetProviderAndAudiences() != nil:
			if providers[r.GetProviderAndAudiences().GetProviderName()] == nil {
				c.w.add(true, joinKey(at, "provider_and_audiences"), "no jwt_authn provider named %q", r.GetProviderAndAudiences().GetProviderName())
			}
		case r.GetRequiresAny() != nil:
			for i, e := range r.GetRequiresAny().GetRequirements() {
				walk(e, joinIndex(joinKey(joinKey(at, "requires_any"), "requirements"), i))
			}
		case r.GetRequiresAll() != nil:
			for i, e := range r.GetRequiresAll().GetRequirements() {
				walk(e, joinIndex(joinKey(joinKey(at, "requires_all"), "requirements"), i))
			}
		}
	}
	for i, rule := range j.GetRules() {
		rpath := joinIndex(joinKey(path, "rules"), i)
		if rule.GetRequires() != nil {
			walk(rule.GetRequires(), joinKey(rpath, "requires"))
		}
		if n := rule.GetRequirementName(); n != "" && j.GetRequirementMap()[n] == nil {
			c.w.add(true, joinKey(rpath, "requirement_name"), "no requirement_map entry %q", n)
		}
	}
	for name, r := range j.GetRequirementMap() {
		walk(r, joinKey(joinKey(path, "requirement_map"), name))
	}
	if c.access != nil && !j.GetBypassCorsPreflight() {
		c.w.add(true, joinKey(path, "bypass_cors_preflight"), "bypass_cors_preflight is not true: a CORS preflight carries no token, so jwt_authn would refuse browsers' preflights that the cors filter does not answer itself")
	}
}

// Headers a browser's gRPC-Web / Connect client sends, and those it must read back.
var (
	corsNeedAllow  = []string{"authorization", "content-type", "connect-protocol-version", "x-grpc-web", "grpc-timeout", "x-user-agent"}
	corsNeedExpose = []string{"grpc-status", "grpc-message", "grpc-status-details-bin"}
)

// corsPolicies: every CORS policy allows an explicit list of origins (exact
// scheme://host[:port]: never "*", a prefix, suffix, substring or regex, any of which
// lets a look-alike origin call with a user's token) and the headers gRPC-Web needs.
func (c *crossCheck) corsPolicies(rc *routev3.RouteConfiguration, path string) {
	each := func(cfg map[string]*anypb.Any, at string) {
		for key, a := range cfg {
			var p corsv3.CorsPolicy
			if a.MessageIs(&p) && a.UnmarshalTo(&p) == nil {
				c.corsPolicy(&p, joinKey(joinKey(at, "typed_per_filter_config"), key))
			}
		}
	}
	each(rc.GetTypedPerFilterConfig(), path)
	for i, vh := range rc.GetVirtualHosts() {
		vpath := joinIndex(joinKey(path, "virtual_hosts"), i)
		each(vh.GetTypedPerFilterConfig(), vpath)
		for j, r := range vh.GetRoutes() {
			each(r.GetTypedPerFilterConfig(), joinIndex(joinKey(vpath, "routes"), j))
		}
	}
}

func (c *crossCheck) corsPolicy(p *corsv3.CorsPolicy, path string) {
	origins := p.GetAllowOriginStringMatch()
	if len(origins) == 0 {
		c.w.add(true, joinKey(path, "allow_origin_string_match"), "empty: list the allowed origins")
	}
	for i, m := range origins {
		at := joinIndex(joinKey(path, "allow_origin_string_match"), i)
		exact, isExact := m.GetMatchPattern().(*matcherv3.StringMatcher_Exact)
		if !isExact {
			c.w.add(true, at, "matches origins by pattern (%s): list exact origins (scheme://host[:port]); a pattern admits look-alike origins, and .* admits every site", describeStringMatcher(m))
			continue
		}
		o := exact.Exact
		u, err := url.Parse(o)
		switch {
		case o == "*" || o == "null":
			c.w.add(true, at, "origin %q admits every site (or any sandboxed page): list exact origins", o)
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
			c.w.add(true, at, "%q is not an origin (scheme://host[:port], as browsers send it)", o)
		case u.Path == "/":
			c.w.add(true, at, "%q ends in /: browsers send the origin without it, so it never matches", o)
		case strings.Contains(u.Host, "*"):
			c.w.add(true, at, "%q: a wildcard in exact is taken literally by Envoy", o)
		}
	}
	has := func(list string, want []string) []string {
		got := map[string]bool{}
		for _, h := range strings.Split(list, ",") {
			got[strings.ToLower(strings.TrimSpace(h))] = true
		}
		var missing []string
		for _, w := range want {
			if !got[w] {
				missing = append(missing, w)
			}
		}
		return missing
	}
	if m := has(p.GetAllowHeaders(), corsNeedAllow); len(m) > 0 {
		c.w.add(true, joinKey(path, "allow_headers"), "lacks %s: browsers' gRPC-Web / Connect calls with a bearer token would fail their preflight", strings.Join(m, ", "))
	}
	if m := has(p.GetExposeHeaders(), corsNeedExpose); len(m) > 0 {
		c.w.add(true, joinKey(path, "expose_headers"), "lacks %s: a browser client could not read the call's status", strings.Join(m, ", "))
	}
}

func describeStringMatcher(m *matcherv3.StringMatcher) string {
	switch v := m.GetMatchPattern().(type) {
	case *matcherv3.StringMatcher_Exact:
		return fmt.Sprintf("exact %q", v.Exact)
	case *matcherv3.StringMatcher_Prefix:
		return fmt.Sprintf("prefix %q", v.Prefix)
	case *matcherv3.StringMatcher_Suffix:
		return fmt.Sprintf("suffix %q", v.Suffix)
	case *matcherv3.StringMatcher_Contains:
		return fmt.Sprintf("contains %q", v.Contains)
	case *matcherv3.StringMatcher_SafeRegex:
		return fmt.Sprintf("safe_regex %q", v.SafeRegex.GetRegex())
	}
	return "custom matcher"
}
