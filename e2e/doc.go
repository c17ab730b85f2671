// Package e2e holds the end-to-end tests of the whole path: simulated CRM
// servers write trace files, in-process agents tail and publish them over
// NATS JetStream, the server's rules engine raises alerts into the store,
// and the tests read them back through the HTTP API with a real operator
// token — across a server restart, and against an external NATS.
package e2e
