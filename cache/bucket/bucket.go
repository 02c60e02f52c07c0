package bucket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // azblob://
	_ "gocloud.dev/blob/fileblob"  // file://
	_ "gocloud.dev/blob/gcsblob"   // gs://
	_ "gocloud.dev/blob/memblob"   // mem:// (tests)
	_ "gocloud.dev/blob/s3blob"    // s3://
	"gocloud.dev/gcerrors"
	"golang.org/x/sync/errgroup"

	"github.com/sentinelzer0/szrun/cache"
)

// findMissingParallel bounds concurrent existence checks (one HEAD each on
// object stores).
const findMissingParallel = 16

// Backend is a cache.Backend over a blob bucket.
type Backend struct {
	b     *blob.Bucket
	url   string
	creds string // which credential source the driver will use, for errors
}

var _ cache.Backend = (*Backend)(nil)

// Open opens the bucket at rawURL. For file:// URLs it adds, unless given,
// create_dir (the folder is made on first use), no_tmp_dir (temp files are
// written beside their target, so the final rename never crosses file
// systems) and metadata=skip (no .attrs sidecar files).
func Open(ctx context.Context, rawURL string) (*Backend, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("open remote cache %q: %w", rawURL, err)
	}
	switch u.Scheme {
	case "s3", "gs", "azblob", "file", "mem":
	case "":
		return nil, fmt.Errorf("open remote cache %q: not a URL: want s3://, gs://, azblob:// or file://", rawURL)
	default:
		return nil, fmt.Errorf("open remote cache %q: unsupported scheme %q: want s3://, gs://, azblob:// or file://", rawURL, u.Scheme)
	}
	if u.Scheme == "file" {
		q := u.Query()
		for k, v := range map[string]string{"create_dir": "true", "no_tmp_dir": "true", "metadata": "skip"} {
			if _, ok := q[k]; !ok {
				q.Set(k, v)
			}
		}
		u.RawQuery = q.Encode()
		if err := os.MkdirAll(u.Path, 0o755); err != nil {
			return nil, fmt.Errorf("open remote cache %q: %w", rawURL, err)
		}
	}
	b, err := blob.OpenBucket(ctx, u.String())
	if err != nil {
		return nil, fmt.Errorf("open remote cache %q: %w", rawURL, err)
	}
	return &Backend{b: b, url: rawURL, creds: credentialSource(u.Scheme)}, nil
}

// String returns the URL the backend was opened with.
func (k *Backend) String() string { return k.url }

// Close releases the bucket.
func (k *Backend) Close() error { return k.b.Close() }

func actionKey(key string) string { return "ac/" + key }

func blobKey(d cache.Digest) string { return "cas/" + string(d) }

// credentialSource says where the driver for scheme looks for
// credentials, naming what is set, so an access error says what was tried.
func credentialSource(scheme string) string {
	set := func(names ...string) string {
		var have []string
		for _, n := range names {
			if os.Getenv(n) != "" {
				have = append(have, n)
			}
		}
		if len(have) == 0 {
			return "none of " + strings.Join(names, ", ") + " is set"
		}
		return strings.Join(have, ", ") + " from the environment"
	}
	switch scheme {
	case "s3":
		return "AWS SDK default chain: " + set("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE") + "; then ~/.aws config, then the instance role"
	case "gs":
		return "Google application default credentials: " + set("GOOGLE_APPLICATION_CREDENTIALS") + "; then gcloud's, then the metadata server"
	case "azblob":
		return "Azure: " + set("AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_CONNECTION_STRING") + "; then the default Azure credential"
	}
	return ""
}

// wrap maps a driver's not-found to cache.ErrNotFound and names the
// object; other errors say which credentials were in use.
func (k *Backend) wrap(op, obj string, err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%s %s: %w", op, obj, cache.ErrNotFound)
	}
	if k.creds != "" && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s %s (credentials: %s): %w", op, obj, k.creds, err)
	}
	return fmt.Errorf("%s %s: %w", op, obj, err)
}

// GetAction reads ac/<key>.
func (k *Backend) GetAction(ctx context.Context, key string) ([]byte, error) {
	if !validName(key) {
		return nil, fmt.Errorf("get action %q: invalid key", key)
	}
	b, err := k.b.ReadAll(ctx, actionKey(key))
	if err != nil {
		return nil, k.wrap("get action", key, err)
	}
	return b, nil
}

// PutAction writes ac/<key>; the object appears only when complete.
func (k *Backend) PutAction(ctx context.Context, key string, record []byte) error {
	if !validName(key) {
		return fmt.Errorf("put action %q: invalid key", key)
	}
	err := k.b.WriteAll(ctx, actionKey(key), record, &blob.WriterOptions{ContentType: "application/json"})
	if err != nil {
		return k.wrap("put action", key, err)
	}
	return nil
}

// FindMissing checks each blob's attributes, findMissingParallel at once.
func (k *Backend) FindMissing(ctx context.Context, refs []cache.BlobRef) ([]cache.BlobRef, error) {
	miss := make([]bool, len(refs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(findMissingParallel)
	for i, r := range refs {
		if !r.Digest.Valid() {
			miss[i] = true
			continue
		}
		g.Go(func() error {
			attrs, err := k.b.Attributes(gctx, blobKey(r.Digest))
			switch {
			case gcerrors.Code(err) == gcerrors.NotFound:
				miss[i] = true
			case err != nil:
				return k.wrap("check blob", string(r.Digest), err)
			case r.Size >= 0 && attrs.Size != r.Size:
				miss[i] = true
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []cache.BlobRef
	for i, m := range miss {
		if m {
			out = append(out, refs[i])
		}
	}
	return out, nil
}

// GetBlob opens cas/<digest>; reading stops when ctx is done.
func (k *Backend) GetBlob(ctx context.Context, d cache.Digest) (io.ReadCloser, int64, error) {
	if !d.Valid() {
		return nil, 0, fmt.Errorf("get blob %q: %w", d, cache.ErrBadDigest)
	}
	r, err := k.b.NewReader(ctx, blobKey(d), nil)
	if err != nil {
		return nil, 0, k.wrap("get blob", string(d), err)
	}
	return r, r.Size(), nil
}

// PutBlob streams r to cas/<digest>. An error from r cancels the write, so
// the object (or the previous version of it) is left as it was.
func (k *Backend) PutBlob(ctx context.Context, ref cache.BlobRef, r io.Reader) error {
	if !ref.Digest.Valid() {
		return fmt.Errorf("put blob %q: %w", ref.Digest, cache.ErrBadDigest)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := k.b.NewWriter(wctx, blobKey(ref.Digest), &blob.WriterOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return k.wrap("put blob", string(ref.Digest), err)
	}
	if _, err := io.Copy(w, r); err != nil {
		cancel() // abort: gocloud commits nothing for a cancelled writer
		_ = w.Close()
		return fmt.Errorf("put blob %s: %w", ref.Digest, err)
	}
	if err := w.Close(); err != nil {
		return k.wrap("put blob", string(ref.Digest), err)
	}
	return nil
}

// validName accepts what an action key may be: it becomes an object name.
func validName(k string) bool {
	return k != "" && len(k) <= 200 && !strings.ContainsAny(k, "/\\") && !strings.HasPrefix(k, ".")
}
