// EndToEndTests: placeholder until the module lands.
