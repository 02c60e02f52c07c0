package proto

// The go-plugin handshake. A plugin written in any language must accept these:
// szrun sets MagicCookieKey=MagicCookieValue in the plugin's environment and
// expects the handshake line "1|<ProtocolVersion>|<network>|<address>|grpc|..."
// on the plugin's stdout.
const (
	// ProtocolVersion is go-plugin's application protocol version.
	ProtocolVersion = 1
	// MagicCookieKey and MagicCookieValue are not a security measure; they
	// stop a plugin binary from being run by hand by mistake.
	MagicCookieKey   = "SZRUN_PLUGIN"
	MagicCookieValue = "f3a9c1e6b2d84f57a0e1c9d3b7264e8a"
	// PluginName is the go-plugin plugin-map key of the Stage service.
	PluginName = "stage"
	// BinaryPrefix starts the file name of every plugin executable.
	BinaryPrefix = "szrun-plugin-"
)
