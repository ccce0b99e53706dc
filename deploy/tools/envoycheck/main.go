// Command envoycheck validates an Envoy v3 bootstrap YAML file without running Envoy:
// no Envoy binary (and no Docker to run one) is available where Agora is built.
//
// It reads the file as Envoy does (YAML -> JSON -> envoy.config.bootstrap.v3.Bootstrap
// with protojson, so unknown fields, wrong types, bad enum names and unresolvable
// typed_config types are errors), then applies the protoc-gen-validate rules
// go-control-plane generates from Envoy's protos, to every message, including those
// inside typed_config, plus a few checks Envoy makes at start-up (negative durations,
// deprecated and disallowed fields, references between routes and clusters, the router
// being the last HTTP filter, HTTP/2 for gRPC health checks).
//
// What it cannot know: whether names resolve, ports are free, or extensions are
// compiled into the Envoy image. Pin go-control-plane/envoy to the Envoy image's
// version so the API it checks against is the one that will run.
//
// With -rpcs (and -restrict, -open) it also evaluates jwt_authn + rbac for every RPC of
// the proto files and several callers, against that access table (access.go).
//
// Usage: envoycheck [-deny-deprecated] [-drain-time-s N] [-rpcs GLOB [-restrict ROLES=RPCS]... [-open PATH]...] FILE...
// Exit status: 0 all files valid, 1 a file is invalid, 2 usage error.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/encoding/protojson"
)

const apiModule = "github.com/envoyproxy/go-control-plane/envoy"

func main() {
	denyDeprecated := flag.Bool("deny-deprecated", false, "treat deprecated fields and enum values as errors")
	drainTimeS := flag.Int("drain-time-s", 0, "Envoy's --drain-time-s; every drain_timeout must be below it (0: skip)")
	version := flag.Bool("version", false, "print the Envoy API version checked against and exit")
	rpcs := flag.String("rpcs", "", "glob of .proto files: check jwt_authn + rbac against the access table for every rpc in them")
	var restrict, open multiFlag
	flag.Var(&restrict, "restrict", "ROLE[,ROLE...]=pkg.Service/Method[,pkg.Service/*...]: only a token with one of these roles may call them (repeatable; needs -rpcs)")
	flag.Var(&open, "open", "a path that must work without a token, e.g. /grpc.health.v1.Health/Check (repeatable; needs -rpcs)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: envoycheck [-deny-deprecated] [-drain-time-s N] [-rpcs GLOB [-restrict ROLES=RPCS]... [-open PATH]...] FILE...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *version {
		fmt.Println(apiVersion())
		return
	}
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	var access *accessSpec
	if *rpcs != "" {
		var err error
		if access, err = loadAccessSpec(*rpcs, restrict, open); err != nil {
			fmt.Fprintf(os.Stderr, "envoycheck: access table: %v\n", err)
			os.Exit(2)
		}
	} else if len(restrict) > 0 || len(open) > 0 {
		fmt.Fprintln(os.Stderr, "envoycheck: -restrict and -open need -rpcs")
		os.Exit(2)
	}
	failed := false
	for _, file := range flag.Args() {
		if !check(file, *denyDeprecated, time.Duration(*drainTimeS)*time.Second, access) {
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// apiVersion is the go-control-plane/envoy module this binary was built with, which
// go-control-plane versions after the Envoy release it mirrors (v1.40.0 = Envoy 1.40).
func apiVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == apiModule {
				return apiModule + " " + dep.Version
			}
		}
	}
	return apiModule + " (unknown version)"
}

func check(file string, denyDeprecated bool, drainTime time.Duration, access *accessSpec) bool {
	fail := func(format string, args ...any) bool {
		fmt.Fprintf(os.Stderr, "envoycheck: %s: "+format+"\n", append([]any{file}, args...)...)
		return false
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return fail("%v", err)
	}
	doc, err := parseYAML(src)
	if err != nil {
		return fail("not valid YAML for Envoy: %v", err)
	}

	var b bootstrapv3.Bootstrap
	// DiscardUnknown stays false: a misspelt field is an error, as in Envoy.
	if err := (protojson.UnmarshalOptions{}).Unmarshal(doc.json, &b); err != nil {
		return fail("not an envoy.config.bootstrap.v3.Bootstrap: %s", doc.explain(err))
	}

	w := newWalker()
	w.message(b.ProtoReflect(), "")
	cc := &crossCheck{w: w, drainTime: drainTime, access: access}
	cc.run(&b)

	errors, warnings := 0, 0
	for _, f := range w.findings {
		isErr := f.err || denyDeprecated
		label := "warning"
		if isErr {
			label = "error"
			errors++
		} else {
			warnings++
		}
		at := doc.where(f.path)
		if f.path != "" {
			at += ", " + f.path
		}
		fmt.Fprintf(os.Stderr, "envoycheck: %s: %s: %s: %s\n", file, label, at, f.msg)
	}
	if errors > 0 {
		return fail("INVALID: %d error(s), %d warning(s) (checked against %s)", errors, warnings, apiVersion())
	}

	types := make([]string, 0, len(w.anys))
	total := 0
	for t, n := range w.anys {
		types = append(types, t)
		total += n
	}
	sort.Strings(types)
	sr := b.GetStaticResources()
	fmt.Printf("envoycheck: %s: OK: %d listener(s), %d cluster(s), %d route(s), %d typed_config(s) of %d type(s), %d messages validated, %d warning(s) (against %s)\n",
		file, len(sr.GetListeners()), len(sr.GetClusters()), cc.routes, total, len(types), w.messages, warnings, apiVersion())
	if access != nil {
		fmt.Printf("envoycheck: %s: access table holds: %d RPCs (%d restricted) and %d open paths, %d calls evaluated through jwt_authn + rbac\n",
			file, len(access.rpcs), len(access.restricted), len(access.open), cc.accessCases)
	}
	return true
}
