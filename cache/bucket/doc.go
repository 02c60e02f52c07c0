// Package bucket owns szrun's remote cache backends: a cache.Backend over
// a gocloud.dev/blob bucket, so one implementation serves S3 and
// S3-compatible servers (s3://bucket?region=...&endpoint=...), Google Cloud
// Storage (gs://), Azure Blob Storage (azblob://) and a shared file system
// (file:///path).
//
// Layout inside the bucket (under the URL's prefix= when given):
// cas/<digest> for blobs and ac/<key> for action records, both full
// 64-hex digests. The store's rules (blobs first, record last; verify on
// download; a record with missing blobs is a miss) live in cache.Remote;
// this package only moves bytes and maps "not found" to cache.ErrNotFound.
package bucket
