// IDocXML: placeholder until the module lands.
