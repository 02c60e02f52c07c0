package wire

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "github.com/sentinelzer0/szrun/plugins/proto"
)

// Handshake is the go-plugin handshake both sides must agree on.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  pb.ProtocolVersion,
	MagicCookieKey:   pb.MagicCookieKey,
	MagicCookieValue: pb.MagicCookieValue,
}

// StagePlugin adapts the Stage gRPC service to go-plugin. The SDK sets Impl
// (the server side); the host leaves it nil and gets a pb.StageClient.
type StagePlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl pb.StageServer
}

var _ plugin.GRPCPlugin = (*StagePlugin)(nil)

// GRPCServer registers the plugin's implementation.
func (p *StagePlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return fmt.Errorf("stage plugin: no implementation to serve")
	}
	pb.RegisterStageServer(s, p.Impl)
	return nil
}

// GRPCClient returns the host's client of the Stage service.
func (p *StagePlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pb.NewStageClient(c), nil
}

// PluginSet is the go-plugin plugin map; impl is nil on the host side.
func PluginSet(impl pb.StageServer) plugin.PluginSet {
	return plugin.PluginSet{pb.PluginName: &StagePlugin{Impl: impl}}
}
