package server

import (
	"context"
	"errors"
	"sync"
)

// Start runs a server built from opts in the background and returns once it
// serves requests. ctx bounds only the start: if it ends first, or the
// server fails to start, the server is stopped and the error returned. The
// returned stop ends the server and returns Run's error; calling it again
// returns the same error.
func Start(ctx context.Context, opts Options) (*Server, func() error, error) {
	srv, err := New(opts)
	if err != nil {
		return nil, nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	select {
	case <-srv.Started():
		return srv, stop, nil
	case err := <-done:
		cancel()
		if err == nil {
			err = errors.New("server stopped before it started")
		}
		return nil, nil, err
	case <-ctx.Done():
		return nil, nil, errors.Join(ctx.Err(), stop())
	}
}
