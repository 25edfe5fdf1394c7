"""Registry exports of other registries (Verra) read and written with the registry's records."""
