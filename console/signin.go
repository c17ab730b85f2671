package console

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"crmwatch/access"
)

func (c *Console) signinPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, http.StatusOK, "signin", pageData{Title: "Sign in", Next: safeNext(r.URL.Query().Get("next"))})
}

// signin exchanges the token of the form for a session cookie.
func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	next := safeNext(r.PostFormValue("next"))
	fail := func(code int, msg string) {
		c.render(w, code, "signin", pageData{Title: "Sign in", Error: msg, Next: next})
	}
	tok, err := access.ParseToken(r.PostFormValue("token"))
	if err != nil {
		fail(http.StatusBadRequest, err.Error()+": paste the whole token (crmw_…) an admin gave you with `crmwatch operators add`.")
		return
	}
	id, op, expires, err := c.opts.Auth.SignIn(r.Context(), tok, c.opts.SessionTTL)
	switch {
	case errors.Is(err, access.ErrUnauthenticated):
		c.log.Warn("console sign-in refused", "token", tok, "remote", r.RemoteAddr)
		fail(http.StatusUnauthorized, "This token belongs to no active operator (revoked, rotated or never issued): ask an admin for a new one.")
		return
	case err != nil:
		c.log.Error("console sign-in failed", "err", err)
		fail(http.StatusServiceUnavailable, "Signing in failed because the store did not answer: retry, and check the server log.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: access.SessionCookie, Value: id.Reveal(), Path: "/", Expires: expires,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	c.log.Info("operator signed in to the console", "operator", op.Name, "role", op.Role)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signout ends the session and clears the cookie.
func (c *Console) signout(w http.ResponseWriter, r *http.Request) {
	if err := c.opts.Auth.SignOut(r.Context(), r); err != nil {
		c.log.Error("console sign-out failed", "err", err)
		c.errorPage(w, r, http.StatusServiceUnavailable, "Sign-out failed", "The store did not answer: retry.")
		return
	}
	clearCookie(w, r)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

func clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: access.SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// safeNext keeps a redirect target on this site: a path, never "//host"
// or a URL with a scheme.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n") || strings.HasPrefix(next, "/signin") {
		return "/alerts"
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" {
		return "/alerts"
	}
	return next
}
