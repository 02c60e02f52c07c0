// Package plugins owns szrun's out-of-process stages: finding plugin
// binaries, starting them over hashicorp/go-plugin, and turning them into
// stages.Stage values the run engine treats like built-ins.
//
// The nouns:
//
//   - A Plugin is an executable named szrun-plugin-<name> in one of the plugin
//     directories (DefaultDirs, all absolute: --plugin-dir, $SZRUN_PLUGIN_PATH,
//     ~/.szrun/plugins, szrun's own folder; the first directory wins). It has a BLAKE3 Digest of
//     its bytes and the stage Specs it described.
//   - The Host discovers plugins (Discover), describes each once per binary
//     digest, and resolves a recipe's `uses: plugin:NAME[/STAGE]` to a Stage
//     (Lookup). Close kills whatever plugin process is still running.
//   - The protocol is the gRPC service in plugins/proto (Describe; Validate,
//     called while a recipe is validated; Run, streaming Log, Progress and
//     one Result or Error), carried by go-plugin
//     with a magic cookie, protocol version 1 and automatic mTLS. Files pass
//     as paths, never bytes.
//   - The SDK (plugins/sdk) is what a Go plugin author imports.
//
// Every Run of a plugin stage starts a fresh process, so one crash cannot
// poison the next run. The process leads its own process group; a finished,
// cancelled or timed-out run kills the group within Options.KillTimeout, and
// on Linux the plugin gets SIGTERM when szrun dies (the SDK then kills its
// group). A plugin's Spec version carries its binary digest, so
// replacing the binary changes every cache key of its stages. Failures come
// back as *Error, naming the plugin and quoting the tail of its stderr.
package plugins
