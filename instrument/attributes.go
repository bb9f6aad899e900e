package instrument

import (
	"net/http"

	"github.com/otel-runway/runway/instrument/internal/contract"
)

// otherValue is the value of http.request.method for any method that is
// not a known one, and of http.route for a request outside the known
// routes, so that a client cannot create series at will.
const otherValue = contract.Other

// knownMethods are the methods recorded as themselves. Order defines the
// method index used by the precomputed tables.
var knownMethods = [...]string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodDelete, http.MethodConnect, http.MethodOptions,
	http.MethodTrace, http.MethodPatch, "QUERY",
}

// numMethods counts the known methods plus "_OTHER".
const numMethods = len(knownMethods) + 1

// methodOther is the index of "_OTHER".
const methodOther = len(knownMethods)

// methodIndex maps a request method to its table index. Methods are
// case-sensitive (RFC 9110); anything unknown maps to methodOther. It does
// not allocate.
func methodIndex(m string) int {
	switch m {
	case http.MethodGet:
		return 0
	case http.MethodHead:
		return 1
	case http.MethodPost:
		return 2
	case http.MethodPut:
		return 3
	case http.MethodDelete:
		return 4
	case http.MethodConnect:
		return 5
	case http.MethodOptions:
		return 6
	case http.MethodTrace:
		return 7
	case http.MethodPatch:
		return 8
	case "QUERY":
		return 9
	}
	return methodOther
}

// methodName returns the value recorded as http.request.method for the
// method index i: the method itself when it is a known method (GET, HEAD,
// POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH, QUERY; exact case),
// else "_OTHER".
func methodName(i int) string {
	if i == methodOther {
		return otherValue
	}
	return knownMethods[i]
}
