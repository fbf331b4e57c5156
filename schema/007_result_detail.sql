-- What a probe type measured beyond the common fields (probe_result_detail):
-- the members of a JSON object without its braces ("perfdata":[...]), NULL
-- when the type gave none.  Older rows stay NULL.
ALTER TABLE result ADD COLUMN detail TEXT;
