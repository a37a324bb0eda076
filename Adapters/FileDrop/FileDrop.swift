// FileDrop: placeholder until the module lands.
