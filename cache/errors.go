package cache

import "errors"

// Sentinel errors; callers test them with errors.Is.
var (
	// ErrCorrupt means stored bytes do not hash to the digest they are stored
	// under (a blob), or a stored record does not parse (an action, a tree
	// manifest). The wrapping error names the blob or record.
	ErrCorrupt = errors.New("cache: corrupt entry")
	// ErrNotFound means a blob, action or metadata file is not in the store.
	ErrNotFound = errors.New("cache: not found")
	// ErrBadDigest means a string is not 64 lowercase hex characters.
	ErrBadDigest = errors.New("cache: malformed digest")
	// ErrSymlink means a tree contains a symbolic link; trees reject them so
	// a tree digest always describes self-contained regular files.
	ErrSymlink = errors.New("cache: symbolic links are not supported in trees")
)
