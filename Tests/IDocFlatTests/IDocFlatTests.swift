// IDocFlatTests: placeholder until the module lands.
