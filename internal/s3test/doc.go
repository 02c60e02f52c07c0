// Package s3test owns the S3-protocol server the remote-cache tests talk
// to: github.com/johannesboyne/gofakes3 served over HTTP on the loopback
// interface, reached through the same s3blob driver production uses. It
// adds what the fault tests need: a credential check (a wrong access key
// gets S3's InvalidAccessKeyId), and a kill switch that drops connections
// mid-request as a crashed server would.
package s3test
