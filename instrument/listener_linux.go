//go:build linux

package instrument

import (
	"net"

	"golang.org/x/sys/unix"
)

// acceptQueue reads the accept queue of a listening TCP socket: for a
// socket in the LISTEN state Linux reports the current length of the
// accept queue in tcpi_unacked and its maximum in tcpi_sacked.
func acceptQueue(ln net.Listener) (length, max int64, ok bool) {
	tl, isTCP := ln.(*net.TCPListener)
	if !isTCP {
		return 0, 0, false
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return 0, 0, false
	}
	var info *unix.TCPInfo
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || gerr != nil {
		return 0, 0, false
	}
	return int64(info.Unacked), int64(info.Sacked), true
}
