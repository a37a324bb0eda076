// IDocFlat: placeholder until the module lands.
