"""Built-in model families, one subpackage each; every subpackage exposes only hookimpls at its top."""
