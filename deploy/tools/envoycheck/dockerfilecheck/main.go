// Command dockerfilecheck checks a Dockerfile without a Docker engine, with BuildKit's
// own Dockerfile parser (the one `docker build` runs):
//   - syntax and instruction arguments (a COPY without a destination, a HEALTHCHECK
//     with a bad duration, an unknown instruction), as `docker build` would report
//     them before building anything;
//   - BuildKit's parse-time lint rules (the `docker build --check` rules that need no
//     build: FROM/AS casing, JSON arguments for ENTRYPOINT/CMD, MAINTAINER, ...);
//   - every COPY/ADD source from the build context exists and is not excluded by the
//     context's .dockerignore, matched with Docker's own pattern matcher;
//   - the final stage runs as a non-root USER, has a HEALTHCHECK and a STOPSIGNAL.
//
// It lives in envoycheck's module (and go.sum) so check-deploy.sh builds both tools
// from one pinned dependency set.
//
// Usage: dockerfilecheck -context DIR DOCKERFILE
// Exit status: 0 valid, 1 invalid, 2 usage error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

func main() {
	contextDir := flag.String("context", ".", "the build context (where .dockerignore is read)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: dockerfilecheck -context DIR DOCKERFILE")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	file := flag.Arg(0)
	problems, summary, err := check(file, *contextDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dockerfilecheck: %s: %v\n", file, err)
		os.Exit(1)
	}
	for _, p := range problems {
		fmt.Fprintf(os.Stderr, "dockerfilecheck: %s: %s\n", file, p)
	}
	if len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "dockerfilecheck: %s: INVALID: %d problem(s)\n", file, len(problems))
		os.Exit(1)
	}
	fmt.Printf("dockerfilecheck: %s: OK: %s\n", file, summary)
}

func check(file, contextDir string) (problems []string, summary string, err error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	ast, err := parser.Parse(f)
	if err != nil {
		return nil, "", err
	}
	for _, w := range ast.Warnings {
		problems = append(problems, fmt.Sprintf("line %d: %s", w.Location.Start.Line, w.Short))
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, url, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		problems = append(problems, fmt.Sprintf("line %d: lint %s: %s (%s)", line, rule, msg, url))
	}})
	stages, _, err := instructions.Parse(ast.AST, lint)
	if err != nil {
		return nil, "", err
	}
	if len(stages) == 0 {
		return nil, "", errors.New("no FROM: not a Dockerfile")
	}

	ignore, err := readIgnore(contextDir)
	if err != nil {
		return nil, "", err
	}
	sources := 0
	names := []string{}
	for _, st := range stages {
		names = append(names, st.Name)
		for _, cmd := range st.Commands {
			var sd instructions.SourcesAndDest
			switch c := cmd.(type) {
			case *instructions.CopyCommand:
				if c.From != "" {
					continue // from another stage or image, not the context
				}
				sd = c.SourcesAndDest
			case *instructions.AddCommand:
				sd = c.SourcesAndDest
			default:
				continue
			}
			for _, src := range sd.SourcePaths {
				if strings.Contains(src, "://") || strings.HasPrefix(src, "git@") {
					continue // ADD from a URL
				}
				sources++
				if p := contextProblem(contextDir, src, ignore); p != "" {
					problems = append(problems, fmt.Sprintf("line %d: %s %s: %s", cmd.Location()[0].Start.Line, strings.ToUpper(cmd.Name()), src, p))
				}
			}
		}
	}

	final := stages[len(stages)-1]
	var user, signal string
	health := false
	for _, cmd := range final.Commands {
		switch c := cmd.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.StopSignalCommand:
			signal = c.Signal
		case *instructions.HealthCheckCommand:
			health = c.Health != nil && len(c.Health.Test) > 0 && c.Health.Test[0] != "NONE"
		}
	}
	if u := strings.SplitN(user, ":", 2)[0]; u == "" || u == "root" || u == "0" {
		problems = append(problems, "the final stage runs as root: add USER <unprivileged user>")
	}
	if !health {
		problems = append(problems, "the final stage has no HEALTHCHECK")
	}
	if signal == "" {
		problems = append(problems, "the final stage has no STOPSIGNAL")
	}
	summary = fmt.Sprintf("%d stage(s) (%s), %d COPY/ADD source(s) present in the context, final stage USER %s, HEALTHCHECK, STOPSIGNAL %s",
		len(stages), strings.Join(names, ", "), sources, user, signal)
	return problems, summary, nil
}

func readIgnore(contextDir string) (*patternmatcher.PatternMatcher, error) {
	f, err := os.Open(filepath.Join(contextDir, ".dockerignore"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	return patternmatcher.New(patterns)
}

// contextProblem says why src cannot be copied from the context, or "" when it can.
func contextProblem(contextDir, src string, ignore *patternmatcher.PatternMatcher) string {
	clean := filepath.Clean(strings.TrimPrefix(src, "/"))
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "outside the build context"
	}
	matches, err := filepath.Glob(filepath.Join(contextDir, clean))
	if err != nil || len(matches) == 0 {
		return "does not exist in the build context"
	}
	if ignore == nil {
		return ""
	}
	for _, m := range matches {
		rel, _ := filepath.Rel(contextDir, m)
		// MatchesOrParentMatches: excluding a directory excludes what is under it.
		if excluded, _ := ignore.MatchesOrParentMatches(filepath.ToSlash(rel)); excluded {
			return "excluded by .dockerignore"
		}
	}
	return ""
}
