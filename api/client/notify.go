package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"crmwatch/api"
)

// Receivers lists the notification receivers of the server.
func (c *Client) Receivers(ctx context.Context) ([]api.ReceiverInfo, error) {
	var out []api.ReceiverInfo
	err := c.do(ctx, "GET", "/api/v1/notify/receivers", nil, &out)
	return out, err
}

// NotifyTest has the server send one test notification to the receiver.
// A receiver that refused it is a result with Error, not an error.
func (c *Client) NotifyTest(ctx context.Context, receiver string) (api.NotifyTestResult, error) {
	var out api.NotifyTestResult
	err := c.doBody(ctx, "POST", "/api/v1/notify/test/"+url.PathEscape(receiver), nil, struct{}{}, &out)
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusBadGateway {
		return api.NotifyTestResult{Receiver: receiver, Result: "failed", Error: e.Message}, nil
	}
	return out, err
}
