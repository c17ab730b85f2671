module www.velocidex.com/golang/evtx

// crmwatch's patched copy of www.velocidex.com/golang/evtx
// v0.2.1-0.20240730174545-3e4ff3d96433 (see PATCHES.md); the requirements
// are those of the root package, at the upstream module's versions.

go 1.20

require (
	github.com/Velocidex/ordereddict v0.0.0-20230909174157-2aa49cc5d11d
	github.com/hashicorp/golang-lru v1.0.2
	github.com/pkg/errors v0.9.1
	golang.org/x/sys v0.22.0
	www.velocidex.com/golang/binparsergen v0.1.1-0.20240404114946-8f66c7cf586e
	www.velocidex.com/golang/go-pe v0.1.1-0.20230228112150-ef2eadf34bc3
)
