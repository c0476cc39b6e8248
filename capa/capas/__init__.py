"""Non-conformances and their CAPAs: filing, the 8D workflow, its history, and the rules that gate closing."""
