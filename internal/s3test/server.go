package s3test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Credentials the server accepts.
const (
	AccessKey = "szrun-test-access"
	SecretKey = "szrun-test-secret"
)

// Server is a running S3-protocol server on 127.0.0.1.
type Server struct {
	// Bucket is the bucket created at start.
	Bucket string
	srv    *httptest.Server

	down      atomic.Bool  // every request's connection is dropped
	hang      atomic.Bool  // every request waits until the client gives up
	killAfter atomic.Int64 // > 0: go down once a PUT body passes this many bytes
	requests  atomic.Int64
}

// Start serves a fresh in-memory S3 with one bucket until t ends.
func Start(t testing.TB, bucket string) *Server {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	faker := gofakes3.New(backend, gofakes3.WithIntegrityCheck(true))
	s := &Server{Bucket: bucket}
	s.srv = httptest.NewServer(s.wrap(faker.Server()))
	t.Cleanup(s.srv.Close)
	return s
}

// Endpoint is the server's http://127.0.0.1:port.
func (s *Server) Endpoint() string { return s.srv.URL }

// URL is the remote cache URL for the bucket (prefix optional).
func (s *Server) URL(prefix string) string {
	u := fmt.Sprintf("s3://%s?endpoint=%s&region=us-east-1&use_path_style=true", s.Bucket, s.srv.URL)
	if prefix != "" {
		u += "&prefix=" + prefix
	}
	return u
}

// Env is the environment a client needs: the accepted credentials, and no
// shared AWS config that could point elsewhere.
func Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + SecretKey,
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
	}
}

// SetEnv sets Env for the test process.
func SetEnv(t testing.TB) {
	t.Helper()
	for _, kv := range Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// Requests counts the requests served so far.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Kill drops every connection from now on, as a dead server would.
func (s *Server) Kill() { s.down.Store(true) }

// KillDuringUpload makes the server die once a request body (an upload)
// has passed n bytes: the connection is cut mid-body.
func (s *Server) KillDuringUpload(n int64) { s.killAfter.Store(n) }

// Hang makes every request wait, unanswered, until the client gives up:
// a server that accepts connections but is too slow to be useful.
func (s *Server) Hang() { s.hang.Store(true) }

// Revive serves again (what was stored before the kill is still there).
func (s *Server) Revive() {
	s.killAfter.Store(0)
	s.down.Store(false)
	s.hang.Store(false)
}

func (s *Server) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if s.down.Load() {
			drop(w)
			return
		}
		if s.hang.Load() {
			<-r.Context().Done()
			return
		}
		if !strings.Contains(r.Header.Get("Authorization"), "Credential="+AccessKey+"/") {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist in our records.</Message></Error>`)
			return
		}
		if n := s.killAfter.Load(); n > 0 && r.Body != nil && (r.Method == http.MethodPut || r.Method == http.MethodPost) {
			var buf bytes.Buffer
			_, _ = io.CopyN(&buf, r.Body, n+1)
			if int64(buf.Len()) > n {
				s.down.Store(true)
				drop(w)
				return
			}
			r.Body = io.NopCloser(&buf)
		}
		h.ServeHTTP(w, r)
	})
}

// drop closes the client's connection without a response.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("s3test: response writer cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}
