"""Change control: a change of a supplier, a material, a chemical, a process or a trim, controlled before it reaches a
garment."""
