package main

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
)

// The Work service, described by hand so the example needs no generated
// code (a protoc-generated service registers the same way):
//
//	service Work {
//	  rpc Do(google.protobuf.Duration) returns (google.protobuf.Empty);       // work that long
//	  rpc Watch(google.protobuf.Empty) returns (stream google.protobuf.Empty); // a tick a second until the client leaves
//	}
const (
	workService = "runway.example.v1.Work"
	doMethod    = "/" + workService + "/Do"
	watchMethod = "/" + workService + "/Watch"
)

var workServiceDesc = grpc.ServiceDesc{
	ServiceName: workService,
	HandlerType: (*any)(nil),
	Methods:     []grpc.MethodDesc{{MethodName: "Do", Handler: doHandler}},
	Streams: []grpc.StreamDesc{{
		StreamName: "Watch", ServerStreams: true,
		Handler: func(srv any, stream grpc.ServerStream) error {
			if err := stream.RecvMsg(new(emptypb.Empty)); err != nil {
				return err
			}
			return srv.(*workServer).watch(stream)
		},
	}},
}

func doHandler(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	in := new(durationpb.Duration)
	if err := dec(in); err != nil {
		return nil, err
	}
	do := func(ctx context.Context, req any) (any, error) {
		return srv.(*workServer).do(ctx, req.(*durationpb.Duration))
	}
	if interceptor == nil {
		return do(ctx, in)
	}
	return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: doMethod}, do)
}

// workServer does its work on a fixed number of workers, like a server
// with a bounded pool of connections or CPUs: past that many concurrent
// RPCs, the others queue, and the queue is what runway.requests.in_flight
// shows.
type workServer struct {
	workers chan struct{}
}

func newWorkServer(workers int) *workServer {
	return &workServer{workers: make(chan struct{}, workers)}
}

func (s *workServer) do(ctx context.Context, d *durationpb.Duration) (*emptypb.Empty, error) {
	if err := d.CheckValid(); err != nil || d.AsDuration() < 0 || d.AsDuration() > time.Minute {
		return nil, status.Error(codes.InvalidArgument, "work duration must be within 0 and 1m")
	}
	select {
	case s.workers <- struct{}{}:
		defer func() { <-s.workers }()
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	t := time.NewTimer(d.AsDuration())
	defer t.Stop()
	select {
	case <-t.C:
		return &emptypb.Empty{}, nil
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

func (s *workServer) watch(stream grpc.ServerStream) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if err := stream.SendMsg(&emptypb.Empty{}); err != nil {
			return err
		}
		select {
		case <-tick.C:
		case <-stream.Context().Done():
			return status.FromContextError(stream.Context().Err()).Err()
		}
	}
}
