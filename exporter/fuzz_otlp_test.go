package exporter

import (
	"context"
	"errors"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
)

// quoted matches a Go-quoted string in an error message.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// grpcAccepts is gRPC's own rule for metadata that a client sends
// (google.golang.org/grpc/internal/metadata.ValidatePair, which is not
// exported), applied to a key after metadata.New has lower-cased it.
func grpcAccepts(k, v string) bool {
	k = strings.ToLower(k)
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		r := k[i]
		if !(r >= 'a' && r <= 'z') && !(r >= '0' && r <= '9') && r != '.' && r != '-' && r != '_' {
			return false
		}
	}
	if strings.HasSuffix(k, "-bin") {
		return true
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return false
		}
	}
	return true
}

// FuzzCheckEnvHeaders checks the OTEL_EXPORTER_OTLP_HEADERS check on any
// input: it never panics, its error never shows a value, and every header
// it accepts is one that the SDK parses without complaint (the SDK's own
// split, trim and decoding) and that net/http (http/protobuf) or gRPC
// (grpc) sends.
func FuzzCheckEnvHeaders(f *testing.F) {
	for _, s := range []string{
		"api-key=secret", "a=1,b=2", "k=%20v%20", "k", "=v", "k=%zz", "a b=c", "k=a%0D%0Ab", ",,", "k==v", "k=v=w",
		"x!y=1", "K=v", "k=a%09b", "k=%C3%A9", "k-bin=%00%FF", "k=v,", " k = v ",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, v string, grpcProto bool) {
		err := checkEnvHeaders(v, grpcProto)
		if err != nil {
			// An error quotes keys (cut when long), never a value.
			for _, q := range quoted.FindAllString(err.Error(), -1) {
				shownKey, _ := strconv.Unquote(q)
				isKey := false
				for _, item := range strings.Split(v, ",") {
					k, _, _ := strings.Cut(item, "=")
					isKey = isKey || strings.HasPrefix(strings.TrimSpace(k), shownKey)
				}
				if !isKey {
					t.Fatalf("error %q quotes %s, which is not a key of %q", err, q, v)
				}
			}
			return
		}
		for _, item := range strings.Split(v, ",") {
			k, val, ok := strings.Cut(item, "=")
			decoded, derr := url.PathUnescape(val)
			k, decoded = strings.TrimSpace(k), strings.TrimSpace(decoded)
			switch {
			case !ok || derr != nil || !httpguts.ValidHeaderFieldName(k):
				t.Fatalf("accepted %q, which the SDK rejects", v)
			case grpcProto && !grpcAccepts(k, decoded):
				t.Fatalf("accepted %q=%q, which gRPC refuses to send", k, decoded)
			case !grpcProto && !httpguts.ValidHeaderFieldValue(decoded):
				t.Fatalf("accepted %q=%q, which net/http refuses to send", k, decoded)
			}
		}
	})
}

// FuzzOTLPEnv sets the OTLP variables to any values: the configuration
// never panics; an error wraps ErrInvalidEnv and names a variable that was
// set; and when runway accepts the values, the SDK's exporter reads them
// without logging an error or a warning (nothing runway accepts is
// rejected or ignored upstream).
func FuzzOTLPEnv(f *testing.F) {
	f.Add("http/protobuf", "http://c:4318/base", "api-key=a%20b", "gzip", "500", "delta", "true")
	f.Add("grpc", "c:4317", "k", "br", "0", "cumulative", "")
	f.Add("HTTP", "https://c", "=v", "none", "1s", "lowmemory", "yes")
	f.Add("", "http://c:1/#x", "a:b=c", "", "-1", "Delta", "FALSE")
	f.Add("grpc", "localhost:4317", "x!y=1", "GZIP", "99999999999999999999", "sometimes", "false")
	f.Fuzz(func(t *testing.T, protocol, endpoint, headers, compression, timeout, temporality, insecure string) {
		env := map[string]string{
			envOTLPProtocol:          protocol,
			envOTLPEndpoint:          endpoint,
			envOTLPHeaders:           headers,
			envOTLPCompression:       compression,
			envOTLPTimeout:           timeout,
			envTemporalityPreference: temporality,
			envOTLPInsecure:          insecure,
		}
		for _, v := range env {
			if strings.ContainsRune(v, 0) {
				return // not a possible environment value
			}
		}
		setEnv(t, env)
		c, err := newConfig([]Option{WithOTLP("")}, os.LookupEnv)
		if err != nil {
			if !errors.Is(err, ErrInvalidEnv) {
				t.Fatalf("error %q does not wrap ErrInvalidEnv", err)
			}
			for name, v := range env {
				if strings.TrimSpace(v) != "" && strings.Contains(err.Error(), name) {
					return
				}
			}
			t.Fatalf("error %q names no variable that was set", err)
		}
		var complaints []error
		hookOtelErrors(t, func(err error) { complaints = append(complaints, err) })
		exp, err := newOTLPExporter(context.Background(), c)
		if err != nil {
			t.Fatalf("exporter: %v", err)
		}
		_ = exp.Shutdown(context.Background())
		if len(complaints) > 0 {
			t.Fatalf("runway accepted %q, the SDK complained: %v", env, complaints)
		}
	})
}
