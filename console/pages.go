package console

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"crmwatch/access"
)

// pageData is what every template sees.
type pageData struct {
	Title, Page string
	Operator    access.Operator
	// CSRF is the session's token for the script's requests and forms.
	CSRF string
	// What the operator may do: the templates and the script show the
	// matching controls only (the API refuses the rest anyway).
	CanAct, CanTrace, IsAdmin bool
	Version                   string
	// ID is the alert of the detail page.
	ID string
	// Error and Next are for the sign-in and error pages.
	Error, Message, Next string
}

// pageNames are the templates under web/, each combined with layout.html.
var pageNames = []string{"signin", "error", "alerts", "alert", "agents", "maintenance", "trace", "audit", "operators", "dashboards", "dashboard"}

func (c *Console) parseTemplates() error {
	c.pages = map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").ParseFS(webFS, "web/layout.html", "web/"+name+".html")
		if err != nil {
			return fmt.Errorf("console: template %s: %w", name, err)
		}
		c.pages[name] = t
	}
	return nil
}

func (c *Console) render(w http.ResponseWriter, code int, name string, d pageData) {
	d.Page, d.Version = name, c.opts.Version
	var b strings.Builder
	if err := c.pages[name].Execute(&b, d); err != nil {
		c.log.Error("rendering a page", "page", name, "err", err)
		http.Error(w, "rendering the page failed; check the server log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(b.String()))
}

// data fills what every signed-in page needs.
func (c *Console) data(r *http.Request, title string) pageData {
	op, _ := access.OperatorFrom(r.Context())
	d := pageData{Title: title, Operator: op, CanAct: op.Can(access.PermAlertWrite),
		CanTrace: op.Can(access.PermTraceWrite), IsAdmin: op.Can(access.PermAdmin)}
	if id, ok := access.SessionFrom(r); ok {
		d.CSRF = id.CSRF()
	}
	return d
}

// page serves one signed-in page; its data comes from the API in the
// browser.
func (c *Console) page(name, title string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := c.data(r, title)
		d.ID = r.PathValue("id")
		c.render(w, http.StatusOK, name, d)
	})
}

func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, code int, title, msg string) {
	d := c.data(r, title)
	d.Message = msg
	c.render(w, code, "error", d)
}
