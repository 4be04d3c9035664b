//go:build generate

// Package tools pins the code generators the project runs, in a module of
// their own so their dependencies stay out of the provider's go.mod.
package tools

import (
	_ "github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs"
)

// Generate docs/ from templates/, examples/ and the provider's schema.
//go:generate go run github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs generate --provider-dir .. --provider-name sunset
