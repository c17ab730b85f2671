package access_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"crmwatch/access"
)

// TestNoCustomerPrincipal reads the whole module's source and migrations
// (issue 16 point 5): operators are the only principals. The role set is
// the three operator roles, declared once; every type that carries a role
// is an operator type; no identifier names a customer, tenant, guest or
// anonymous principal; and the store's operators table admits exactly the
// three roles.
func TestNoCustomerPrincipal(t *testing.T) {
	if got := access.Roles(); !slices.Equal(got, []access.Role{access.RoleAdmin, access.RoleOperator, access.RoleReadonly}) {
		t.Fatalf("roles %v: only the three operator roles may exist", got)
	}
	principal := regexp.MustCompile(`(?i)(customer|tenant|guest|anonymous)_?(principal|role|user|account|token|session|grant|login|viewer|access)`)
	var roleConsts, roleHolders []string
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "third_party" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != ".." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		inAccess := f.Name.Name == "access"
		isRole := func(e ast.Expr) bool {
			switch x := e.(type) {
			case *ast.Ident:
				return inAccess && x.Name == "Role"
			case *ast.SelectorExpr:
				id, ok := x.X.(*ast.Ident)
				return ok && id.Name == "access" && x.Sel.Name == "Role"
			}
			return false
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.Ident:
				if principal.MatchString(x.Name) {
					t.Errorf("%s: identifier %s names a non-operator principal", fset.Position(x.Pos()), x.Name)
				}
			case *ast.ValueSpec:
				if x.Type != nil && isRole(x.Type) {
					for i, name := range x.Names {
						v := ""
						if i < len(x.Values) {
							if lit, ok := x.Values[i].(*ast.BasicLit); ok {
								v, _ = strconv.Unquote(lit.Value)
							}
						}
						roleConsts = append(roleConsts, name.Name+"="+v)
					}
				}
			case *ast.TypeSpec:
				st, ok := x.Type.(*ast.StructType)
				if !ok {
					return true
				}
				for _, fld := range st.Fields.List {
					if isRole(fld.Type) {
						roleHolders = append(roleHolders, f.Name.Name+"."+x.Name.Name)
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 200 {
		t.Fatalf("read only %d Go files of the module", files)
	}
	slices.Sort(roleConsts)
	if want := []string{"RoleAdmin=admin", "RoleOperator=operator", "RoleReadonly=readonly"}; !slices.Equal(roleConsts, want) {
		t.Errorf("role constants %v, want exactly %v", roleConsts, want)
	}
	for _, h := range roleHolders {
		if !strings.Contains(h, "Operator") {
			t.Errorf("%s carries an access role but is not an operator type", h)
		}
	}
	if len(roleHolders) == 0 {
		t.Error("found no type carrying a role: the scan is broken")
	}
	t.Logf("%d files; role constants %v; types carrying a role %v", files, roleConsts, roleHolders)

	migrations, _ := filepath.Glob("../store/sqlstore/migrations/*.sql")
	check := regexp.MustCompile(`CHECK \(role IN \(([^)]*)\)\)`)
	checks := 0
	for _, m := range migrations {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range check.FindAllStringSubmatch(string(b), -1) {
			checks++
			if c[1] != "'admin', 'operator', 'readonly'" {
				t.Errorf("%s: the operators table admits roles %s", filepath.Base(m), c[1])
			}
		}
		if principal.Match(b) || regexp.MustCompile(`(?i)CREATE TABLE (customer|tenant|principal|user)`).Match(b) {
			t.Errorf("%s defines a non-operator principal", filepath.Base(m))
		}
	}
	if checks == 0 {
		t.Error("no migration restricts the operators' roles")
	}
}
