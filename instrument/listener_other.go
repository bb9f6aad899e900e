//go:build !linux

package instrument

import "net"

// acceptQueue is not available outside Linux.
func acceptQueue(net.Listener) (length, max int64, ok bool) { return 0, 0, false }
