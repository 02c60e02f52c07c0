// Package cache owns szrun's on-disk build cache: a content-addressed store of
// blobs plus an action cache, as in Bazel.
//
// The package is split in two: the store's meaning (keys, verification,
// "an action whose blobs are missing is a miss", the order in which blobs
// and records are written, GC policy), and a small Backend interface that
// only moves bytes (get/put an action record, find missing blobs, get/put a
// blob, streamed). Local, the directory layout below, is one Backend;
// cache/bucket provides remote object stores.
//
// Nouns:
//
//   - Store: one cache root (default .szrun/cache beside the recipe, or
//     $SZRUN_CACHE). Layout under the root:
//     cas/ab/abcd… blobs named by their full digest, read-only (0444);
//     ac/ab/<key>.json action records; locks/ flock(2) files; tmp/ staging
//     for atomic writes; view/<digest>/<name> stable read-only paths;
//     meta/ small metadata files; runs/ run records for gc; statcache.
//   - Backend, Local: where records and blobs live; Local is the layout
//     above. BlobRef is a digest with the size it must have.
//   - Digest: 64 lowercase hex characters of BLAKE3-256. Never truncated.
//     A file's digest is the hash of its bytes; a folder's ("tree") digest is
//     the hash of its canonical manifest (see HashPath), which is itself
//     stored as a blob so a tree can be restored from its digest alone.
//   - Action: the record an action key maps to: output file digests,
//     values (metrics), the log's digest, the canonical inputs and timings.
//     GetAction treats a record whose blobs are missing as a miss.
//   - KeyBuilder: the canonical, versioned, order-independent encoding that
//     cache keys are hashed from. Never %v, never reflection.
//   - view: <root>/view/<digest>/<name>, a path downstream stages receive:
//     a copy of the blob (a reflink where the file system has them), built
//     in tmp/, verified, renamed into place, and checked again each time it
//     is served.
//   - stat cache: (path, size, mtime ns, ctime ns, inode, dev) -> digest,
//     so an unchanged large file is hashed once. Entries for files modified
//     less than 2s before they were hashed are not trusted ("racy", as in
//     git). ctime is in the key because a writer can put mtime back but
//     not ctime.
//
// The store is immutable (trust.go says what a hit promises): nothing is
// ever written through a blob. PutFile copies while hashing (the source
// stays the caller's and may change later); View and Materialize copy
// (CopyFile: reflink, else bytes), never hard-link; a blob put again is
// replaced, not trusted. A hit (GetAction) checks every blob it serves: a
// stat against the stat cache when unchanged since the store wrote or last
// verified it, else a full re-hash; a blob that fails is removed with its
// record, so the stage runs again. Trees reject symbolic links (ErrSymlink)
// and do not record empty directories; GC with no rule keeps actions used
// within DefaultKeepWithin (7 days). docs/CACHE.md is the user-facing
// statement of these guarantees.
//
// Crash safety: every blob, action, view and metadata file is written to
// tmp/ (or beside its target), fsynced and renamed into place, so a process
// killed at any point leaves only temp files, which Verify reports and
// Verify(repair) and GC remove. Two writers of the same blob or action both
// succeed: the renamed files have identical content.
//
// Concurrency: Open takes a shared flock on locks/store.lock for the Store's
// lifetime; GC, Clear and Verify(repair) convert it to exclusive, so they
// wait for every other open Store (in any process) to Close. Lock(key) gives
// per-action mutual exclusion across goroutines and processes, so two runs
// only wait on each other when they need the same stage.
package cache
