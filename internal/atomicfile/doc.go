// Package atomicfile is szrun's one way to write a file that readers (and a
// crash) see whole or not at all: the content goes to a temporary file beside
// the destination, is flushed and fsynced, made 0644, renamed over the
// destination, and the folder is fsynced so the rename survives power loss.
// A failed write removes its temporary file and leaves the destination as it
// was: no partial file is ever left under the destination's name.
//
// Models (package onnx, and ONNX Runtime's optimizer output through
// WriteByName), stage reports (metrics.json, report.json, the
// compare and select reports) and run records (run.json, JUnit XML) are all
// written through it. The content-addressed store (package cache) keeps its
// own writer: it stages temp files in the store's tmp folder with the blob's
// mode (0444) and may skip fsyncs for advisory files, and package cache
// imports no other szrun package.
package atomicfile
