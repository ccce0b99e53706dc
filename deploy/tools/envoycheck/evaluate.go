package main

// The evaluation behind access.go: a gRPC call (POST to /pkg.Service/Method) with or
// without a valid token, through jwt_authn and then rbac, as Envoy decides it.

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	rbacconfigv3 "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	jwtv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/jwt_authn/v3"
	rbacv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/structpb"
)

// caller is who sends the test call: no token, or a token that verifies against
// one provider and carries these roles (noRoles: no roles claim at all).
type caller struct {
	token   bool
	noRoles bool
	roles   []string
}

func (c caller) String() string {
	switch {
	case !c.token:
		return "no token"
	case c.noRoles:
		return "a valid token without a roles claim"
	}
	return fmt.Sprintf("a valid token with roles [%s]", strings.Join(c.roles, ", "))
}

// unsupported is raised (as a panic, caught in evaluate) when the config uses a part
// of jwt_authn or rbac the model does not cover.
type unsupported struct{ what string }

func unsupportedf(format string, args ...any) {
	panic(unsupported{fmt.Sprintf(format, args...)})
}

// request is one call as the filters see it.
type request struct {
	path     string
	method   string
	metadata map[string]*structpb.Struct // dynamic metadata, by namespace
}

// rbacFirst: the filters run in the wrong order (reported by authFilters), so rbac sees
// no payload metadata; evaluated that way, as Envoy would run it.
func (c *crossCheck) evaluate(j *jwtv3.JwtAuthentication, r *rbacv3.RBAC, rbacFirst bool, at string) {
	spec := c.access
	callers := []caller{
		{},
		{token: true, noRoles: true},
		{token: true, roles: []string{}},
		{token: true, roles: []string{"customer"}},
	}
	for _, role := range spec.roles {
		callers = append(callers, caller{token: true, roles: []string{"customer", role}})
	}
	callers = append(callers, caller{token: true, roles: append([]string{"customer"}, spec.roles...)})

	var providers []string
	for name := range j.GetProviders() {
		providers = append(providers, name)
	}
	sort.Strings(providers)

	defer func() {
		if e := recover(); e != nil {
			u, ok := e.(unsupported)
			if !ok {
				panic(e)
			}
			c.w.add(true, at, "envoycheck cannot evaluate this config: %s (extend deploy/tools/envoycheck/evaluate.go, or keep to what it models)", u.what)
		}
	}()

	var problems []string
	checked := 0
	open := map[string]bool{}
	for _, p := range spec.open {
		open[p] = true
	}
	paths := append(append([]string{}, spec.rpcs...), spec.open...)
	for _, path := range paths {
		for _, cl := range callers {
			// A token is valid for one provider at a time; with none, once.
			issuers := providers
			if !cl.token {
				issuers = []string{""}
			}
			for _, provider := range issuers {
				checked++
				got, why := decide(j, r, rbacFirst, path, cl, provider)
				want, rule := expected(spec, open, path, cl)
				if got != want {
					verb := "refuses it"
					if got {
						verb = "lets it through"
					}
					who := cl.String()
					if len(providers) > 1 && provider != "" {
						who += " from provider " + provider
					}
					problems = append(problems, fmt.Sprintf("%s with %s: Envoy %s (%s), but %s", path, who, verb, why, rule))
				}
			}
		}
	}
	if n := len(problems); n > 0 {
		const show = 12
		more := ""
		if len(problems) > show {
			more = fmt.Sprintf("; and %d more", len(problems)-show)
			problems = problems[:show]
		}
		c.w.add(true, at, "jwt_authn + rbac do not implement the access table (%d of %d calls differ):\n    %s%s", n, checked, strings.Join(problems, "\n    "), more)
		return
	}
	c.accessCases += checked
}

// expected: what the access table says for this call.
func expected(spec *accessSpec, open map[string]bool, path string, cl caller) (bool, string) {
	if open[path] {
		return true, "it must work without a token (-open)"
	}
	if !cl.token {
		return false, "every RPC needs a valid token"
	}
	roles, restricted := spec.restricted[path]
	if !restricted {
		return true, "any valid token may call it"
	}
	for _, want := range roles {
		for _, have := range cl.roles {
			if want == have {
				return true, fmt.Sprintf("roles %s may call it", strings.Join(roles, " or "))
			}
		}
	}
	return false, fmt.Sprintf("only roles %s may call it", strings.Join(roles, " or "))
}

// decide runs jwt_authn and rbac in their chain order and says whether the call
// reaches the router.
func decide(j *jwtv3.JwtAuthentication, r *rbacv3.RBAC, rbacFirst bool, path string, cl caller, provider string) (bool, string) {
	req := &request{path: path, method: "POST", metadata: map[string]*structpb.Struct{}}
	if rbacFirst {
		ok, why := rbacDecide(r, req)
		if !ok {
			return false, why
		}
		ok, jwtWhy := jwtDecide(j, req, cl, provider)
		return ok, why + "; " + jwtWhy
	}
	ok, why := jwtDecide(j, req, cl, provider)
	if !ok {
		return false, why
	}
	ok, rbacWhy := rbacDecide(r, req)
	return ok, why + "; " + rbacWhy
}

func jwtDecide(j *jwtv3.JwtAuthentication, req *request, cl caller, provider string) (bool, string) {
	if len(j.GetFilterStateRules().GetRequires()) > 0 {
		unsupportedf("jwt_authn filter_state_rules")
	}
	for i, rule := range j.GetRules() {
		if !routeMatches(rule.GetMatch(), req) {
			continue
		}
		need := rule.GetRequires()
		if name := rule.GetRequirementName(); name != "" {
			need = j.GetRequirementMap()[name]
		}
		if need == nil {
			return true, fmt.Sprintf("jwt_authn rules[%d] needs no token", i)
		}
		if satisfied(need, cl, provider) {
			if cl.token {
				setPayload(j, req, cl, provider)
			}
			return true, fmt.Sprintf("jwt_authn rules[%d] accepts it", i)
		}
		return false, fmt.Sprintf("jwt_authn rules[%d]: UNAUTHENTICATED", i)
	}
	return true, "no jwt_authn rule matches, so no token is needed"
}

// satisfied: does a caller with (or without) a valid token of provider meet r?
func satisfied(r *jwtv3.JwtRequirement, cl caller, provider string) bool {
	switch v := r.GetRequiresType().(type) {
	case *jwtv3.JwtRequirement_ProviderName:
		return cl.token && v.ProviderName == provider
	case *jwtv3.JwtRequirement_ProviderAndAudiences:
		if len(v.ProviderAndAudiences.GetAudiences()) > 0 {
			unsupportedf("jwt_authn provider_and_audiences with audiences")
		}
		return cl.token && v.ProviderAndAudiences.GetProviderName() == provider
	case *jwtv3.JwtRequirement_RequiresAny:
		for _, e := range v.RequiresAny.GetRequirements() {
			if satisfied(e, cl, provider) {
				return true
			}
		}
		return false
	case *jwtv3.JwtRequirement_RequiresAll:
		for _, e := range v.RequiresAll.GetRequirements() {
			if !satisfied(e, cl, provider) {
				return false
			}
		}
		return true
	case *jwtv3.JwtRequirement_AllowMissing, *jwtv3.JwtRequirement_AllowMissingOrFailed:
		return true // our tokens are valid or absent
	case nil:
		return true
	}
	unsupportedf("jwt_authn requirement %T", r.GetRequiresType())
	return false
}

// setPayload: a verified token's claims land in the metadata when its provider has
// payload_in_metadata.
func setPayload(j *jwtv3.JwtAuthentication, req *request, cl caller, provider string) {
	p := j.GetProviders()[provider]
	if p == nil || p.GetPayloadInMetadata() == "" {
		return
	}
	claims := map[string]any{"iss": p.GetIssuer(), "sub": "envoycheck", "exp": 4102444800}
	if len(p.GetAudiences()) > 0 {
		claims["aud"] = p.GetAudiences()[0]
	}
	if !cl.noRoles {
		roles := make([]any, len(cl.roles))
		for i, r := range cl.roles {
			roles[i] = r
		}
		claims["roles"] = roles
	}
	payload, err := structpb.NewStruct(claims)
	if err != nil {
		panic(err)
	}
	ns := req.metadata[jwtMetadataNamespace]
	if ns == nil {
		ns = &structpb.Struct{Fields: map[string]*structpb.Value{}}
		req.metadata[jwtMetadataNamespace] = ns
	}
	ns.Fields[p.GetPayloadInMetadata()] = structpb.NewStructValue(payload)
}

func routeMatches(m *routev3.RouteMatch, req *request) bool {
	if m == nil {
		return false
	}
	if len(m.GetHeaders()) > 0 || len(m.GetQueryParameters()) > 0 || m.GetRuntimeFraction() != nil ||
		len(m.GetDynamicMetadata()) > 0 || len(m.GetFilterState()) > 0 || m.GetTlsContext() != nil || len(m.GetCookies()) > 0 {
		unsupportedf("a jwt_authn rule match on headers, query parameters, metadata, TLS or runtime")
	}
	path := req.path
	ignoreCase := m.GetCaseSensitive() != nil && !m.GetCaseSensitive().GetValue()
	if ignoreCase {
		path = strings.ToLower(path)
	}
	lower := func(s string) string {
		if ignoreCase {
			return strings.ToLower(s)
		}
		return s
	}
	switch v := m.GetPathSpecifier().(type) {
	case *routev3.RouteMatch_Prefix:
		return strings.HasPrefix(path, lower(v.Prefix))
	case *routev3.RouteMatch_Path:
		return path == lower(v.Path)
	case *routev3.RouteMatch_PathSeparatedPrefix:
		p := lower(v.PathSeparatedPrefix)
		return path == p || strings.HasPrefix(path, p+"/")
	case *routev3.RouteMatch_SafeRegex:
		return fullMatch(v.SafeRegex.GetRegex(), req.path)
	}
	unsupportedf("a jwt_authn rule match %T", m.GetPathSpecifier())
	return false
}

func fullMatch(re, s string) bool {
	rx, err := regexp.Compile(`^(?:` + re + `)$`)
	if err != nil {
		unsupportedf("regex %q: %v", re, err)
	}
	return rx.MatchString(s)
}

func rbacDecide(r *rbacv3.RBAC, req *request) (bool, string) {
	if r.GetMatcher() != nil {
		unsupportedf("rbac matcher (the xDS matcher API)")
	}
	rules := r.GetRules()
	if rules == nil {
		return true, "rbac has no rules"
	}
	var names []string
	for name := range rules.GetPolicies() {
		names = append(names, name)
	}
	sort.Strings(names)
	var matched []string
	for _, name := range names {
		if policyMatches(rules.GetPolicies()[name], req) {
			matched = append(matched, name)
		}
	}
	switch rules.GetAction() {
	case rbacconfigv3.RBAC_ALLOW:
		if len(matched) > 0 {
			return true, "rbac ALLOW policy " + strings.Join(matched, ", ") + " matches"
		}
		return false, "rbac: no ALLOW policy matches: PERMISSION_DENIED"
	case rbacconfigv3.RBAC_DENY:
		if len(matched) > 0 {
			return false, "rbac DENY policy " + strings.Join(matched, ", ") + ": PERMISSION_DENIED"
		}
		return true, "no rbac DENY policy matches"
	case rbacconfigv3.RBAC_LOG:
		return true, "rbac only logs (action LOG)"
	}
	unsupportedf("rbac action %v", rules.GetAction())
	return false, ""
}

func policyMatches(p *rbacconfigv3.Policy, req *request) bool {
	if p.GetCondition() != nil || p.GetCheckedCondition() != nil {
		unsupportedf("rbac policy condition (CEL)")
	}
	perm := false
	for _, x := range p.GetPermissions() {
		if permissionMatches(x, req) {
			perm = true
			break
		}
	}
	if !perm {
		return false
	}
	for _, x := range p.GetPrincipals() {
		if principalMatches(x, req) {
			return true
		}
	}
	return false
}

func permissionMatches(p *rbacconfigv3.Permission, req *request) bool {
	switch v := p.GetRule().(type) {
	case *rbacconfigv3.Permission_Any:
		return v.Any
	case *rbacconfigv3.Permission_AndRules:
		for _, x := range v.AndRules.GetRules() {
			if !permissionMatches(x, req) {
				return false
			}
		}
		return true
	case *rbacconfigv3.Permission_OrRules:
		for _, x := range v.OrRules.GetRules() {
			if permissionMatches(x, req) {
				return true
			}
		}
		return false
	case *rbacconfigv3.Permission_NotRule:
		return !permissionMatches(v.NotRule, req)
	case *rbacconfigv3.Permission_UrlPath:
		return pathMatches(v.UrlPath, req)
	case *rbacconfigv3.Permission_Header:
		return headerMatches(v.Header, req)
	case *rbacconfigv3.Permission_Metadata:
		return metadataMatches(v.Metadata, req)
	case *rbacconfigv3.Permission_SourcedMetadata:
		return sourcedMetadataMatches(v.SourcedMetadata, req)
	}
	unsupportedf("rbac permission %T", p.GetRule())
	return false
}

func principalMatches(p *rbacconfigv3.Principal, req *request) bool {
	switch v := p.GetIdentifier().(type) {
	case *rbacconfigv3.Principal_Any:
		return v.Any
	case *rbacconfigv3.Principal_AndIds:
		for _, x := range v.AndIds.GetIds() {
			if !principalMatches(x, req) {
				return false
			}
		}
		return true
	case *rbacconfigv3.Principal_OrIds:
		for _, x := range v.OrIds.GetIds() {
			if principalMatches(x, req) {
				return true
			}
		}
		return false
	case *rbacconfigv3.Principal_NotId:
		return !principalMatches(v.NotId, req)
	case *rbacconfigv3.Principal_UrlPath:
		return pathMatches(v.UrlPath, req)
	case *rbacconfigv3.Principal_Header:
		return headerMatches(v.Header, req)
	case *rbacconfigv3.Principal_Metadata:
		return metadataMatches(v.Metadata, req)
	case *rbacconfigv3.Principal_SourcedMetadata:
		return sourcedMetadataMatches(v.SourcedMetadata, req)
	}
	unsupportedf("rbac principal %T", p.GetIdentifier())
	return false
}

func pathMatches(m *matcherv3.PathMatcher, req *request) bool {
	path, _, _ := strings.Cut(req.path, "?")
	return stringMatches(m.GetPath(), path)
}

func headerMatches(h *routev3.HeaderMatcher, req *request) bool {
	var value string
	switch h.GetName() {
	case ":path":
		value = req.path
	case ":method":
		value = req.method
	default:
		unsupportedf("rbac header %s (only :path and :method are modelled)", h.GetName())
	}
	var m bool
	switch v := h.GetHeaderMatchSpecifier().(type) {
	case *routev3.HeaderMatcher_StringMatch:
		m = stringMatches(v.StringMatch, value)
	case *routev3.HeaderMatcher_PresentMatch:
		m = v.PresentMatch
	default:
		unsupportedf("rbac header matcher %T", h.GetHeaderMatchSpecifier())
	}
	return m != h.GetInvertMatch()
}

func sourcedMetadataMatches(s *rbacconfigv3.SourcedMetadata, req *request) bool {
	if s.GetMetadataSource() != rbacconfigv3.MetadataSource_DYNAMIC {
		unsupportedf("rbac sourced_metadata from %v", s.GetMetadataSource())
	}
	return metadataMatches(s.GetMetadataMatcher(), req)
}

func metadataMatches(m *matcherv3.MetadataMatcher, req *request) bool {
	var v *structpb.Value
	if ns := req.metadata[m.GetFilter()]; ns != nil {
		v = structpb.NewStructValue(ns)
		for _, seg := range m.GetPath() {
			s := v.GetStructValue()
			if s == nil {
				v = nil
				break
			}
			v = s.GetFields()[seg.GetKey()]
			if v == nil {
				break
			}
		}
	}
	return valueMatches(m.GetValue(), v) != m.GetInvert()
}

// valueMatches: v is nil when the path does not resolve.
func valueMatches(m *matcherv3.ValueMatcher, v *structpb.Value) bool {
	switch p := m.GetMatchPattern().(type) {
	case *matcherv3.ValueMatcher_PresentMatch:
		return (v != nil) == p.PresentMatch
	case *matcherv3.ValueMatcher_NullMatch_:
		return v != nil && v.GetKind() != nil && isNull(v)
	case *matcherv3.ValueMatcher_StringMatch:
		s, ok := v.GetKind().(*structpb.Value_StringValue)
		return ok && stringMatches(p.StringMatch, s.StringValue)
	case *matcherv3.ValueMatcher_BoolMatch:
		b, ok := v.GetKind().(*structpb.Value_BoolValue)
		return ok && b.BoolValue == p.BoolMatch
	case *matcherv3.ValueMatcher_ListMatch:
		l, ok := v.GetKind().(*structpb.Value_ListValue)
		if !ok {
			return false
		}
		for _, e := range l.ListValue.GetValues() {
			if valueMatches(p.ListMatch.GetOneOf(), e) {
				return true
			}
		}
		return false
	case *matcherv3.ValueMatcher_OrMatch:
		for _, x := range p.OrMatch.GetValueMatchers() {
			if valueMatches(x, v) {
				return true
			}
		}
		return false
	}
	unsupportedf("value matcher %T", m.GetMatchPattern())
	return false
}

func isNull(v *structpb.Value) bool {
	_, ok := v.GetKind().(*structpb.Value_NullValue)
	return ok
}

func stringMatches(m *matcherv3.StringMatcher, s string) bool {
	if m == nil {
		return false
	}
	fold := func(x string) string {
		if m.GetIgnoreCase() {
			return strings.ToLower(x)
		}
		return x
	}
	switch v := m.GetMatchPattern().(type) {
	case *matcherv3.StringMatcher_Exact:
		return fold(s) == fold(v.Exact)
	case *matcherv3.StringMatcher_Prefix:
		return strings.HasPrefix(fold(s), fold(v.Prefix))
	case *matcherv3.StringMatcher_Suffix:
		return strings.HasSuffix(fold(s), fold(v.Suffix))
	case *matcherv3.StringMatcher_Contains:
		return strings.Contains(fold(s), fold(v.Contains))
	case *matcherv3.StringMatcher_SafeRegex:
		return fullMatch(v.SafeRegex.GetRegex(), s)
	}
	unsupportedf("string matcher %T", m.GetMatchPattern())
	return false
}
