package main

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/envoyproxy/go-control-plane/envoy/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

// finding is one problem, at a field path of the config.
type finding struct {
	err  bool // false: a warning (deprecated field)
	path string
	msg  string
}

// walker visits every message of the config, typed_config Any's included, and applies
// what Envoy applies when it loads a config:
//   - the protoc-gen-validate rules of each message (ValidateAll). PGV itself never looks
//     inside a google.protobuf.Any, so every typed_config is unpacked here and
//     validated as the message it is;
//   - durations must be non-negative and in range (Envoy's DurationUtil throws on
//     "-1s"; PGV only checks the fields that carry an explicit rule);
//   - fields and enum values marked deprecated (a warning in Envoy, an error here with
//     -deny-deprecated) or disallowed_by_default (an error in Envoy).
type walker struct {
	findings []finding
	messages int
	anys     map[string]int // type URL -> count
	// unpacked are the typed_config messages met on the way, with their paths, for
	// the cross-reference checks (semantic.go).
	unpacked []unpackedAny
}

type unpackedAny struct {
	path string
	msg  proto.Message
}

func newWalker() *walker {
	return &walker{anys: map[string]int{}}
}

func (w *walker) add(isErr bool, path, format string, args ...any) {
	w.findings = append(w.findings, finding{err: isErr, path: path, msg: fmt.Sprintf(format, args...)})
}

func (w *walker) message(m protoreflect.Message, path string) {
	if !m.IsValid() {
		return
	}
	w.messages++
	if d, ok := m.Interface().(*durationpb.Duration); ok {
		w.duration(d, path)
		return
	}
	if a, ok := m.Interface().(*anypb.Any); ok {
		w.any(a, path)
		return
	}
	if v, ok := m.Interface().(interface{ ValidateAll() error }); ok {
		if err := v.ValidateAll(); err != nil {
			w.validation(err, path)
		}
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		fpath := joinKey(path, string(fd.Name()))
		w.fieldOptions(fd, fpath)
		switch {
		case fd.IsList():
			list := v.List()
			for i := 0; i < list.Len(); i++ {
				w.element(fd, list.Get(i), joinIndex(fpath, i))
			}
		case fd.IsMap():
			keys := []protoreflect.MapKey{}
			v.Map().Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
				keys = append(keys, k)
				return true
			})
			sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
			for _, k := range keys {
				w.element(fd.MapValue(), v.Map().Get(k), joinKey(fpath, k.String()))
			}
		default:
			w.element(fd, v, fpath)
		}
		return true
	})
}

func (w *walker) element(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string) {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		w.message(v.Message(), path)
	case protoreflect.EnumKind:
		ev := fd.Enum().Values().ByNumber(v.Enum())
		if ev == nil {
			return
		}
		opts, _ := ev.Options().(*descriptorpb.EnumValueOptions)
		if opts.GetDeprecated() {
			w.add(false, path, "enum value %s is deprecated", ev.Name())
		}
		if opts != nil && proto.HasExtension(opts, annotations.E_DisallowedByDefaultEnum) &&
			proto.GetExtension(opts, annotations.E_DisallowedByDefaultEnum).(bool) {
			w.add(true, path, "enum value %s is disallowed by default (Envoy refuses it)", ev.Name())
		}
	}
}

func (w *walker) fieldOptions(fd protoreflect.FieldDescriptor, path string) {
	opts, _ := fd.Options().(*descriptorpb.FieldOptions)
	if opts == nil {
		return
	}
	if proto.HasExtension(opts, annotations.E_DisallowedByDefault) &&
		proto.GetExtension(opts, annotations.E_DisallowedByDefault).(bool) {
		w.add(true, path, "field %s is disallowed by default (Envoy refuses it)", fd.FullName())
		return
	}
	if opts.GetDeprecated() {
		w.add(false, path, "field %s is deprecated", fd.FullName())
	}
}

// any unpacks a typed_config (or any other Any) and walks the message inside, under the
// same path: in YAML its fields sit beside "@type".
func (w *walker) any(a *anypb.Any, path string) {
	inner, err := a.UnmarshalNew()
	if err != nil {
		w.add(true, path, "cannot read %s: %v (is its package blank-imported in deploy/tools/envoycheck/extensions.go?)", a.GetTypeUrl(), err)
		return
	}
	w.anys[a.GetTypeUrl()]++
	w.unpacked = append(w.unpacked, unpackedAny{path: path, msg: inner})
	w.message(inner.ProtoReflect(), path)
}

// duration applies Envoy's DurationUtil rule to every Duration of the config.
func (w *walker) duration(d *durationpb.Duration, path string) {
	const maxSeconds = 315_576_000_000 // google.protobuf.Duration's own limit
	switch {
	case d.GetSeconds() < 0 || d.GetNanos() < 0:
		w.add(true, path, "negative duration %s (Envoy: \"Expected positive duration\")", d.AsDuration())
	case d.GetNanos() > 999_999_999 || d.GetSeconds() > maxSeconds:
		w.add(true, path, "duration out of range")
	}
}

// pgvError is the shape of every protoc-gen-validate error type.
type pgvError interface {
	error
	Field() string
	Reason() string
	Cause() error
}

// validation reports the PGV errors of one message. "embedded message failed
// validation" is skipped: the walk visits that message itself and reports its errors
// with a precise path.
func (w *walker) validation(err error, path string) {
	var errs []error
	if multi, ok := err.(interface{ AllErrors() []error }); ok {
		errs = multi.AllErrors()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		ve, ok := e.(pgvError)
		if !ok {
			w.add(true, path, "%v", e)
			continue
		}
		if strings.HasPrefix(ve.Reason(), "embedded message failed validation") {
			continue
		}
		msg := ve.Reason()
		if c := ve.Cause(); c != nil {
			msg += ": " + c.Error()
		}
		w.add(true, pgvPath(path, ve.Field()), "%s", msg)
	}
}

// pgvPath turns a PGV field name (Go style: "HealthChecks[0]", "Http2ProtocolOptions")
// into the YAML spelling under path ("health_checks[0]", "http2_protocol_options").
func pgvPath(path, field string) string {
	name, index := field, ""
	if i := strings.IndexByte(field, '['); i >= 0 {
		name, index = field[:i], field[i:]
	}
	var b strings.Builder
	rs := []rune(name)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1])) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
		} else {
			b.WriteRune(r)
		}
	}
	return joinKey(path, b.String()) + index
}
