// IDocXMLTests: placeholder until the module lands.
