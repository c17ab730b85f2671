package client

import (
	"context"
	"net/url"
	"strings"

	"crmwatch/api"
)

// Enroll registers an agent's public NATS key (admin).
func (c *Client) Enroll(ctx context.Context, req api.EnrollRequest) (api.EnrollResponse, error) {
	var out api.EnrollResponse
	err := c.doBody(ctx, "POST", api.EnrollPath, nil, req, &out)
	return out, err
}

// RevokeAgent revokes an enrolled agent (admin); the server closes its
// connection.
func (c *Client) RevokeAgent(ctx context.Context, name string) error {
	return c.doBody(ctx, "POST", strings.Replace(api.RevokePath, "{name}", url.PathEscape(name), 1), nil, struct{}{}, nil)
}

// Enrolled lists the enrolled agents, revoked ones included.
func (c *Client) Enrolled(ctx context.Context) (api.EnrolledResponse, error) {
	var out api.EnrolledResponse
	err := c.do(ctx, "GET", api.EnrolledPath, nil, &out)
	return out, err
}
