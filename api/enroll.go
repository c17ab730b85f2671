package api

import "crmwatch/store"

// Paths of agent enrolment (served by the server, admin only except the
// list).
const (
	EnrollPath   = "/api/v1/agents/enroll"
	EnrolledPath = "/api/v1/agents/enrolled"
	RevokePath   = "/api/v1/agents/{name}/revoke"
)

// EnrollRequest enrolls an agent: the public part of a NATS user key the
// CLI created (its seed never leaves the admin's machine).
type EnrollRequest struct {
	Name      string   `json:"name"`
	Roles     []string `json:"roles,omitempty"`
	PublicKey string   `json:"public_key"`
}

// EnrollResponse is what the credentials file needs from the server.
type EnrollResponse struct {
	Agent store.AgentCredential `json:"agent"`
	// NATS is the URL agents connect to ("" when it carries credentials
	// or the server cannot know it: an external NATS).
	NATS string `json:"nats,omitempty"`
	// CA is the PEM of the server's private CA (--tls auto), else "".
	CA string `json:"ca,omitempty"`
	// Enforced is false when the server does not check credentials
	// (started without --nats-auth creds): the agent works, unchecked.
	Enforced bool `json:"enforced"`
}

// EnrolledResponse is the body of GET /api/v1/agents/enrolled.
type EnrolledResponse struct {
	Agents   []store.AgentCredential `json:"agents"`
	Enforced bool                    `json:"enforced"`
}
