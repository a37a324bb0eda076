// FileDropTests: placeholder until the module lands.
