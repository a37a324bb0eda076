// HTTPSink: placeholder until the module lands.
