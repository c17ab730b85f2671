package simulate

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// zeroGUID is what CRM writes for "no organization / no user" (system work).
const zeroGUID = "00000000-0000-0000-0000-000000000000"

// Stream numbers keep every random sequence independent: adding an output
// kind or a host never shifts what the others draw for a given seed.
const (
	streamTenants uint64 = 1
	streamHosts   uint64 = 1 << 16 // + host index * 16 + output kind
)

func newRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), stream))
}

// newGUID draws a version-4 GUID in CRM's lower-case form.
func newGUID(r *rand.Rand) string {
	var b [16]byte
	hi, lo := r.Uint64(), r.Uint64()
	for i := 0; i < 8; i++ {
		b[i] = byte(hi >> (8 * i))
		b[8+i] = byte(lo >> (8 * i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Org is one tenant organization of the farm.
type Org struct {
	Name       string // unique name, e.g. Contoso (URL path and database prefix)
	ID         string // organization GUID as traced
	Database   string // <Name>_MSCRM
	SQLServer  string // the SQL instance holding its database, e.g. CRMSQL01
	users      []user
	weight     int // share of the farm's traffic (a few tenants are busy)
	authDomain string
}

type user struct {
	id    string
	login string // UPN for claims tokens
	sid   string // Windows SID for W: tokens
}

var orgNames = []string{
	"Contoso", "Fabrikam", "AdventureWorks", "Northwind", "Litware",
	"Tailspin", "WingtipToys", "Woodgrove", "Proseware", "AlpineSkiHouse",
	"CohoWinery", "FourthCoffee", "Lucerne", "TreyResearch", "WideWorldImporters",
	"BlueYonder", "Margies", "Humongous", "Relecloud", "ADatum",
}

var userNames = []string{"admin", "jsmith", "mgarcia", "lchen", "pnovak", "akumar", "sbrown", "crmservice"}

// buildTenants draws n organizations, four per SQL server.
func buildTenants(seed int64, n int) []Org {
	r := newRand(seed, streamTenants)
	sqlServers := (n + 3) / 4
	orgs := make([]Org, n)
	for i := range orgs {
		name := orgNames[i%len(orgNames)]
		if k := i / len(orgNames); k > 0 {
			name = fmt.Sprintf("%s%d", name, k+1)
		}
		o := Org{
			Name:       name,
			ID:         newGUID(r),
			Database:   name + "_MSCRM",
			SQLServer:  fmt.Sprintf("CRMSQL%02d", i%sqlServers+1),
			weight:     1 + 12/(i+1), // Zipf-like: the first tenants are busiest
			authDomain: strings.ToLower(name) + ".local",
		}
		domainSID := fmt.Sprintf("S-1-5-21-%d-%d-%d", 1e9+r.IntN(1e9), 1e9+r.IntN(1e9), 1e8+r.IntN(9e8))
		for j, u := range userNames {
			o.users = append(o.users, user{
				id:    newGUID(r),
				login: u + "@" + o.authDomain,
				sid:   fmt.Sprintf("%s-%d", domainSID, 500+j*611),
			})
		}
		orgs[i] = o
	}
	return orgs
}

// tenantPicker draws organizations by their traffic weight.
type tenantPicker struct {
	orgs  []Org
	cumul []int
}

func newTenantPicker(orgs []Org) tenantPicker {
	p := tenantPicker{orgs: orgs, cumul: make([]int, len(orgs))}
	sum := 0
	for i, o := range orgs {
		sum += o.weight
		p.cumul[i] = sum
	}
	return p
}

func (p tenantPicker) pick(r *rand.Rand) *Org {
	x := r.IntN(p.cumul[len(p.cumul)-1])
	for i, c := range p.cumul {
		if x < c {
			return &p.orgs[i]
		}
	}
	return &p.orgs[len(p.orgs)-1]
}
