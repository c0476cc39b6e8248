"""Inspections that feed the CAPA system: the sampling plans of ISO 2859-1 (:mod:`capa.inspections.sampling`,
read from the standard's tables in :mod:`capa.inspections.iso2859_1`)."""
