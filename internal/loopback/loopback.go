// Package loopback decides whether a host is this machine, the one place
// where connectors accept a cleartext connection (http://, ldap://) without
// being told to: nothing crosses the network, so no secret does either.
package loopback

import (
	"net"
	"strings"
)

// Host reports whether host (a URL's Hostname(): no port, no brackets)
// names the loopback interface: "localhost" in any case, or a loopback IP
// address (127.0.0.0/8, ::1). Other names are not resolved: what a name
// resolves to can change between this check and the connection.
func Host(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
